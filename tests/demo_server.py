"""`nsctl serve --demo` as a subprocess on a free port, for tests that want the demo cluster."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NSCTL = [sys.executable, "-m", "nsctl.cli.main"]


def demo_addresses(namesrv: str) -> list[str]:
    """The demo stand-ins' addresses, as the NameServer lists them: broker-a master, broker-a
    slave, broker-b master (they listen on free ports)."""
    from nsctl.client import NameServerClient

    with NameServerClient(namesrv) as client:
        table = client.get_broker_cluster_info().broker_addr_table
    return [table["broker-a"].broker_addrs[0], table["broker-a"].broker_addrs[1],
            table["broker-b"].broker_addrs[0]]  # fmt: skip


@contextmanager
def demo_server(kv_dir: Path) -> Iterator[str]:
    """Yield the address of a running `nsctl serve --demo` (DemoCluster: broker-a master and
    slave, broker-b, DemoTopic); stop it with SIGTERM afterwards."""
    process = subprocess.Popen(
        [*NSCTL, "serve", "--port", "0", "--demo", "--kv-config-path", str(kv_dir / "kv.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = process.stdout.readline()
        if not ready.startswith("NameServer listening on "):
            process.kill()
            raise AssertionError(f"serve did not start: {ready!r} {process.communicate()[1]}")
        address = ready.rsplit(" ", 1)[1].strip()
        registered = process.stdout.readline()
        assert registered.startswith("Demo cluster"), registered
        yield address
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
