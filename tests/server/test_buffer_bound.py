"""`serve --max-buffered-bytes`: what all connections together hold in partial frames and unsent
answers is bounded; past it the connection holding the most is closed, logged, and the server
goes on serving. Real process, real sockets, RSS from /proc."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from pathlib import Path

from nsctl.protocol import frame
from tests.server.wire import WireClient, register_request, request

MIB = 1024 * 1024


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(field)


def closed_by_server(sock: socket.socket, wait: float = 2.0) -> bool:
    """Whether the server closed it: read what arrived before, until the end or `wait`."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(1 << 20) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


def test_half_sent_large_frames_stay_within_the_bound(serve_process_factory):
    bound = 16 * MIB
    process = serve_process_factory("--max-buffered-bytes", str(bound))
    pid = process.process.pid
    broker = WireClient(process.address)  # a registration lives as long as its connection
    assert broker.call(register_request()).code == 0
    base = rss_mib(pid)
    sockets = []
    chunk = b"\x00" * MIB
    for _ in range(20):  # 20 x 6 MiB of 12 MiB frames: 120 MiB if nothing bounded it
        sock = socket.create_connection(("127.0.0.1", process.port), timeout=10)
        sockets.append(sock)
        try:
            sock.sendall(struct.pack(">i", 12 * MIB))
            for _ in range(6):
                sock.sendall(chunk)
        except OSError:
            pass  # closed by the bound while sending: the point
    time.sleep(0.5)
    peak = rss_mib(pid, "VmHWM")
    closed = sum(closed_by_server(sock, 0.5) for sock in sockets)
    try:
        # Without the bound the server would hold 120 MiB; with it, 16 MiB plus a fixed
        # overhead (one read, the growth of one buffer).
        assert peak - base < bound / MIB + 24, (base, peak)
        assert closed >= 20 - bound // (6 * MIB) - 1
        with WireClient(process.address) as client:  # others are still answered
            assert client.call(request(105, {"topic": "TopicTest"})).code == 0
        assert broker.call(request(106)).code == 0  # the broker's connection is kept
    finally:
        for sock in sockets:
            sock.close()
        broker.close()
    log = process.log_text()
    assert "--max-buffered-bytes 16777216" in log and "the most of all" in log


def test_slow_readers_are_closed_and_others_served(serve_process_factory):
    bound = 2 * MIB
    process = serve_process_factory("--max-buffered-bytes", str(bound))
    topics = {f"topic-{i:05d}-with-a-long-enough-name": 1 for i in range(5000)}
    broker = WireClient(process.address)
    assert broker.call(register_request(topics=topics)).code == 0
    readers = []
    burst = b"".join(frame.encode(request(206)) for _ in range(100))
    try:
        for _ in range(30):  # each asks for 100 topic lists (~20 MB) and reads none of them
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting
            sock.settimeout(10)
            sock.connect(("127.0.0.1", process.port))
            readers.append(sock)
            with contextlib.suppress(OSError):
                sock.sendall(burst)
        time.sleep(1.0)
        closed = sum(closed_by_server(sock, 0.2) for sock in readers)
        assert closed >= 10  # about 7 MB held by 30 readers against a 2 MiB bound
        with WireClient(process.address) as client:
            assert (
                client.call(request(105, {"topic": "topic-00001-with-a-long-enough-name"})).code
                == 0
            )
            assert client.call(request(106)).code == 0
        assert broker.call(request(106)).code == 0  # the broker's connection is kept
    finally:
        for sock in readers:
            sock.close()
        broker.close()
    assert "the most of all" in process.log_text()
