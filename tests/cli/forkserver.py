"""Start nsctl processes fast: a warm interpreter forks one child per run.

Starting Python and importing the CLI costs about 0.2 s of CPU per run; the contract matrix
makes hundreds of runs. This server imports the CLI once, then, for each request, forks a child
that takes the caller's stdin/stdout/stderr, argv and environment and runs the very entry point
the `nsctl` script runs. The child is a real process: it gets real signals, writes into real
pipes, and ends through the interpreter's normal shutdown (where "Exception ignored ..." noise
about a closed stdout would show up), so its exit code and output are what a shell would see.

Protocol, over a Unix socket, one connection per run: the caller sends one JSON line
`{"argv": [...], "env": {...}}` with its three file descriptors attached (SCM_RIGHTS); the
server answers `pid\\n` once the child runs and `exit code\\n` when it has ended (128 + signal
number for a child killed by a signal, as a shell reports it).

Run: `python -m tests.cli.forkserver SOCKET_PATH` (prints `ready` once it listens).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import sys


def _preload() -> None:
    """Import what commands import lazily, so that children start with it in memory."""
    import asyncio  # noqa: F401
    import concurrent.futures  # noqa: F401

    import rich.console
    import rich.table  # noqa: F401

    import nsctl.client
    import nsctl.client.health
    import nsctl.client.watcher  # noqa: F401
    from nsctl.cli.main import load_app

    load_app()


def _run_child(argv: list[str], env: dict[str, str], fds: list[int]) -> None:
    """In the child: become `nsctl ARGV` with the caller's stdio, then exit as it does."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sys.argv = ["nsctl", *argv]
    from nsctl.cli.main import run

    run()  # raises SystemExit like the console script; the interpreter then shuts down


def serve(path: str) -> None:
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    # The caller ends the server by closing its stdin.
    selector.register(sys.stdin, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select(timeout=0.02):
            if key.fileobj is sys.stdin:
                if not sys.stdin.readline():
                    for pid in children:
                        os.kill(pid, signal.SIGKILL)
                    return
                continue
            conn, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            request = json.loads(message)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                selector.close()
                listener.close()
                for other in children.values():
                    other.close()
                conn.close()
                _run_child(request["argv"], request["env"], fds)
                return  # not reached: run() exits
            for fd in fds:
                os.close(fd)
            conn.sendall(f"{pid}\n".encode())
            children[pid] = conn
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                conn.sendall(f"{code if code >= 0 else 128 - code}\n".encode())
            conn.close()


class ForkedProcess:
    """A child of the fork server, seen from the caller: pid, signals, exit code."""

    def __init__(self, path: str, argv: list[str], env: dict[str, str], fds: list[int]) -> None:
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(path)
        socket.send_fds(self._conn, [json.dumps({"argv": argv, "env": env}).encode()], fds)
        self._reader = self._conn.makefile("r")
        self.pid = int(self._reader.readline())
        self.returncode: int | None = None

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._conn.settimeout(timeout)
            line = self._reader.readline()
            if not line:
                raise RuntimeError("the fork server went away")
            self.returncode = int(line)
            self._reader.close()
            self._conn.close()
        return self.returncode


if __name__ == "__main__":
    serve(sys.argv[1])
