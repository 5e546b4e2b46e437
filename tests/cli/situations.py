"""The situations a shell puts nsctl in, made real: a server that accepts and never answers,
an address nobody listens on, a stdout pipe whose reader is gone, a Ctrl-C mid-request, and a
live NameServer holding a known data set."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nsctl.client import NameServerClient
from nsctl.client.broker import BrokerAgent
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer
from tests.cli.conftest import NSCTL

#: Environment of every nsctl run: no address from the surroundings, nothing buffered.
ENV = {
    **{
        k: v
        for k, v in os.environ.items()
        if k not in ("NAMESRV_ADDR", "NSCTL_ADDRESS_SERVER_URL", "ROCKETMQ_NAMESRV_DOMAIN")
    },
    "PYTHONUNBUFFERED": "1",
    "COLUMNS": "200",
}


class SilentServer:
    """Accepts TCP connections and reads whatever comes, never answering. Counts the
    connections, so that a test can tell how many attempts a client made."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.setblocking(False)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self.received = 0
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._peers: list[socket.socket] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="silent-server", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    try:
                        peer, _ = self._listener.accept()
                    except BlockingIOError:
                        continue
                    peer.setblocking(False)
                    self._selector.register(peer, selectors.EVENT_READ)
                    with self._lock:
                        self._peers.append(peer)
                        self.connections += 1
                    continue
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, ConnectionError):
                    data = b""
                if data:
                    with self._lock:
                        self.received += len(data)
                else:  # the client gave up: forget it, keep nothing open
                    self._selector.unregister(sock)
                    sock.close()

    def wait_for_request(self, timeout: float = 30.0) -> None:
        """Until some request bytes came in (the client is now waiting for an answer)."""
        deadline = time.monotonic() + timeout
        while self.received == 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"no request reached the silent server in {timeout} s")
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


def dead_address() -> str:
    """A loopback address where nothing listens (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    #: Seconds from the SIGINT to the end of the process (SIGINT runs only).
    after_signal: float | None = None
    connections: int | None = None

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


class Process(Protocol):
    pid: int

    def send_signal(self, signum: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class Launcher(Protocol):
    def __call__(self, argv: list[str], stdout: int, stderr: int) -> Process: ...


def exec_nsctl(argv: list[str], stdout: int, stderr: int) -> Process:
    """A fresh interpreter running nsctl, as a shell starts it."""
    return subprocess.Popen(
        [*NSCTL, *argv], stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=ENV
    )


class ForkServer:
    """A warm interpreter that forks nsctl processes (see tests/cli/forkserver.py)."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "forkserver.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli.forkserver", self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise AssertionError("the fork server did not start")
        self._devnull = os.open(os.devnull, os.O_RDONLY)

    def __call__(self, argv: list[str], stdout: int, stderr: int) -> Process:
        from tests.cli.forkserver import ForkedProcess

        return ForkedProcess(self.path, argv, ENV, [self._devnull, stdout, stderr])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        os.close(self._devnull)


class _Drain:
    """Reads a pipe to its end in a thread (stdout and stderr must be read together)."""

    def __init__(self, fd: int) -> None:
        self.chunks: list[bytes] = []
        self._fd = fd
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with os.fdopen(self._fd, "rb") as pipe:
            while chunk := pipe.read1(65536):
                self.chunks.append(chunk)

    def text(self, timeout: float) -> str:
        self._thread.join(timeout)
        return b"".join(self.chunks).decode("utf-8", "replace")


def _start(
    launch: Launcher, argv: list[str], *, stdout_reader_gone: bool = False
) -> tuple[Process, _Drain | None, _Drain]:
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    if stdout_reader_gone:
        os.close(out_read)
    try:
        process = launch(argv, out_write, err_write)
    finally:
        os.close(out_write)
        os.close(err_write)
    out = None if stdout_reader_gone else _Drain(out_read)
    return process, out, _Drain(err_read)


def _finish(
    process: Process, out: _Drain | None, err: _Drain, timeout: float
) -> tuple[int, str, str]:
    try:
        code = process.wait(timeout)
    except (subprocess.TimeoutExpired, TimeoutError):
        process.send_signal(signal.SIGKILL)
        raise AssertionError(f"nsctl did not end within {timeout} s") from None
    return code, out.text(timeout) if out else "", err.text(timeout)


def nsctl(*argv: str, timeout: float = 60, launch: Launcher = exec_nsctl) -> Outcome:
    """Run nsctl with stdout and stderr captured."""
    return Outcome(*_finish(*_start(launch, list(argv)), timeout))


def nsctl_into_closed_pipe(
    *argv: str, timeout: float = 60, launch: Launcher = exec_nsctl
) -> Outcome:
    """Run nsctl with stdout a pipe whose reader has already gone (as after `| head -0`):
    every write to it fails."""
    return Outcome(*_finish(*_start(launch, list(argv), stdout_reader_gone=True), timeout))


def nsctl_reader_leaves_after(
    first: int, *argv: str, timeout: float = 60
) -> tuple[Outcome, list[str]]:
    """Run nsctl into a pipe whose reader takes the first `first` lines, then closes it (as
    `| head -N` does). Returns the outcome and the lines read."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [*NSCTL, *argv],
        stdout=write_end,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    os.close(write_end)
    lines = []
    with os.fdopen(read_end, "r") as reader:
        while len(lines) < first:
            line = reader.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
    _, err = process.communicate(timeout=timeout)
    return Outcome(process.returncode, "", err), lines


def nsctl_interrupted(
    server: SilentServer, *argv: str, timeout: float = 60, launch: Launcher = exec_nsctl
) -> Outcome:
    """Run nsctl against `server`, send SIGINT once its request is in, and time the end."""
    process, out, err = _start(launch, list(argv))
    try:
        server.wait_for_request()
    except AssertionError:
        process.send_signal(signal.SIGKILL)
        code, _, text = _finish(process, out, err, timeout)
        raise AssertionError(f"nsctl sent nothing (exit {code}): {text}") from None
    process.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    code, stdout, stderr = _finish(process, out, err, timeout)
    return Outcome(code, stdout, stderr, after_signal=time.monotonic() - signalled)


# --- a live NameServer with a known data set ---------------------------------------------------

#: 3,000 topics on broker-a: enough output to fill a pipe several times.
MANY_TOPICS = [f"T{i:05d}" for i in range(3000)]


@dataclass
class LiveCluster:
    """An embedded NameServer with broker-a (3,000 topics) and broker-w (2 topics) in cluster
    C1, a KV namespace `ns` with k=v1, and an order config for T00001, kept registered by
    BrokerAgents on a loop in a thread."""

    server: EmbeddedNameServer
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _stop: asyncio.Event = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def address(self) -> str:
        return self.server.address


@contextmanager
def live_cluster(kv_path: Path) -> Iterator[LiveCluster]:
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=kv_path) as server:
        agents = [
            BrokerAgent(
                [server.address],
                cluster_name="C1",
                broker_name="broker-a",
                broker_addr="127.0.0.1:10911",
                topics={t: TopicConfig(t, 4, 4, 6) for t in MANY_TOPICS},
                include_system_topics=False,
            ),
            BrokerAgent(
                [server.address],
                cluster_name="C1",
                broker_name="broker-w",
                broker_addr="127.0.0.1:10921",
                topics={t: TopicConfig(t, 2, 2, 6) for t in ("W1", "W2")},
                include_system_topics=False,
            ),
        ]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        holder: dict[str, asyncio.Event] = {}

        async def keep() -> None:
            stop = asyncio.Event()
            holder["stop"] = stop
            registered: set[str] = set()

            def note(agent_name: str):
                def seen(_address: str, outcome: object) -> None:
                    if not isinstance(outcome, BaseException):
                        registered.add(agent_name)
                        if len(registered) == len(agents):
                            ready.set()

                return seen

            await asyncio.gather(*(a.run(stop, on_registered=note(a.broker_name)) for a in agents))

        thread = threading.Thread(target=loop.run_until_complete, args=(keep(),), daemon=True)
        thread.start()
        if not ready.wait(30):
            raise AssertionError("the live cluster's brokers did not register")
        with NameServerClient(server.address) as client:
            client.put_kv_config("ns", "k", "v1")
            client.put_kv_config(ORDER_TOPIC_CONFIG_NAMESPACE, "T00001", "broker-a:4")
        live = LiveCluster(server, loop, holder["stop"], thread)
        try:
            yield live
        finally:
            loop.call_soon_threadsafe(holder["stop"].set)
            thread.join(timeout=15)
            loop.close()
