"""Kill a `nsctl serve` and start it again on the same port and KV file."""

from __future__ import annotations

import socket
import time


def restart_on_same_port(factory, killed, *, kv_config_path=None, timeout: float = 30.0):
    """SIGKILL `killed` (if still running) and start a new process on its port; the port may
    stay busy for a moment after the kill, so starting is retried until `timeout`."""
    if killed.process.poll() is None:
        killed.kill()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return factory("--port", str(killed.port), kv_config_path=kv_config_path)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def port_refuses(port: int) -> bool:
    """True once nothing listens on 127.0.0.1:`port`."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False
