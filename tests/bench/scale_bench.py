"""Scale benchmark of `nsctl serve` (a script; pytest does not collect tests/bench).

    .venv/bin/python tests/bench/scale_bench.py [--runs 3] [--skip-100k]

Starts `nsctl serve --port 0` subprocesses on 127.0.0.1 and prints:

* REGISTER_BROKER with 10,000 topics, JSON and compressed bodies: the first registration (every
  topic new), an unchanged re-registration (what a broker sends every 30 s) and one with a new
  DataVersion (every QueueData rewritten); request to answer over the socket, and the server's
  CPU time for it (from /proc/PID/stat);
* REGISTER_BROKER with 100,000 topics, compressed body: accepted, and the same figures;
* `nsctl topicList -o json` with 100,000 topics, process start to exit: the first call after
  the registration (the server builds the list) and the following ones;
* the server's resident memory idle and with 10 brokers x 10,000 topics (the same topics on
  every broker, then 10,000 different topics per broker).

Figures are medians (min-max) of `--runs` runs; each first registration gets a fresh server.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchlib import cpu_seconds, rss_mib, start_serve  # noqa: E402

from nsctl.protocol import frame  # noqa: E402
from nsctl.protocol.command import RemotingCommand  # noqa: E402
from nsctl.protocol.register import (  # noqa: E402
    DataVersion,
    RegisterBrokerBody,
    TopicConfig,
    body_crc32,
)


class Server:
    def __init__(self, tmp: Path) -> None:
        self.process, self.address = start_serve(
            ["--kv-config-path", str(tmp / "kvConfig.json"), "--log-level", "WARNING"]
        )
        self.connections: list[socket.socket] = []  # a broker's registration lives with these

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def rss_mib(self) -> float:
        return rss_mib(self.process.pid)

    def connect(self) -> socket.socket:
        host, port = self.address.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=120)
        self.connections.append(sock)
        return sock

    def stop(self) -> None:
        for sock in self.connections:
            sock.close()
        self.process.terminate()
        self.process.wait(timeout=30)


def call(sock: socket.socket, data: bytes) -> tuple[float, RemotingCommand]:
    started = time.perf_counter()
    sock.sendall(data)
    buffer = bytearray()
    while len(buffer) < 4:
        buffer += sock.recv(1 << 16)
    size = int.from_bytes(buffer[:4], "big") + 4
    while len(buffer) < size:
        buffer += sock.recv(1 << 20)
    return time.perf_counter() - started, frame.decode(bytes(buffer))


def register_frame(
    name: str, addr: str, topics: list[str], version: int, *, compressed: bool
) -> bytes:
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(version, 1_700_000_000_000 + version, 0)
    for topic in topics:
        wrapper.topic_config_table[topic] = TopicConfig(topic, 8, 8)
    raw = body.encode_compressed() if compressed else body.encode()
    ext = {
        "brokerName": name,
        "brokerAddr": addr,
        "clusterName": "DefaultCluster",
        "haServerAddr": addr.rsplit(":", 1)[0] + ":1",
        "brokerId": "0",
        "compressed": "true" if compressed else "false",
        "bodyCrc32": str(body_crc32(raw)),
    }
    return frame.encode(RemotingCommand(code=103, ext_fields=ext, body=raw, version=479))


def timed_register(server: Server, sock: socket.socket, data: bytes) -> tuple[float, float]:
    cpu = server.cpu_seconds()
    wall, answer = call(sock, data)
    if answer.code != 0:
        raise SystemExit(f"REGISTER_BROKER refused: {answer.code} {answer.remark}")
    return wall * 1000, (server.cpu_seconds() - cpu) * 1000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def show(label: str, values: list[float], unit: str = "ms") -> None:
    median, digits = statistics.median(values), 2 if unit == "s" else 1
    low, high = min(values), max(values)
    print(f"  {label:<44} {median:9.{digits}f} {unit}  ({low:.{digits}f}-{high:.{digits}f})")


def registrations(tmp: Path, n: int, runs: int, compressed: bool) -> None:
    kind = "compressed" if compressed else "JSON"
    topics = [f"scale-topic-{i:06d}" for i in range(n)]
    first = register_frame("broker-a", "127.0.0.1:10911", topics, 1, compressed=compressed)
    again = first
    newer = register_frame("broker-a", "127.0.0.1:10911", topics, 2, compressed=compressed)
    print(f"REGISTER_BROKER, {n:,} topics, {kind} body ({len(first):,} bytes), request to answer:")
    figures: dict[str, list[float]] = {}
    for _ in range(runs):
        server = Server(tmp)
        try:
            sock = server.connect()
            for label, data in [("first", first), ("unchanged", again), ("new DataVersion", newer)]:
                wall, cpu = timed_register(server, sock, data)
                figures.setdefault(f"{label}: wall", []).append(wall)
                figures.setdefault(f"{label}: server CPU", []).append(cpu)
        finally:
            server.stop()
    for label, values in figures.items():
        show(label, values)


def topic_list(tmp: Path, n: int, runs: int) -> None:
    server = Server(tmp)
    try:
        topics = [f"scale-topic-{i:06d}" for i in range(n)]
        data = register_frame("broker-a", "127.0.0.1:10911", topics, 1, compressed=True)
        timed_register(server, server.connect(), data)
        print(f"nsctl topicList -o json, {n:,} topics, process start to exit:")
        argv = [sys.executable, "-m", "nsctl.cli.main", "topicList", "-o", "json"]
        argv += ["-n", server.address]
        walls, cli_cpu, server_cpu = [], [], []
        for _ in range(runs + 1):
            started, children, served = time.perf_counter(), _children_cpu(), server.cpu_seconds()
            done = subprocess.run(argv, capture_output=True, cwd=ROOT, check=False)
            walls.append(time.perf_counter() - started)
            cli_cpu.append(_children_cpu() - children)
            server_cpu.append(server.cpu_seconds() - served)
            if done.returncode != 0 or done.stdout.count(b"scale-topic-") != n:
                raise SystemExit(f"topicList failed: {done.returncode} {done.stderr[-300:]!r}")
        show("first call after the registration: wall", walls[:1], "s")
        show("  its server CPU", server_cpu[:1], "s")
        show("later calls: wall", walls[1:], "s")
        show("  their CLI process CPU (user+sys)", cli_cpu[1:], "s")
        show("  their server CPU", server_cpu[1:], "s")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        show("(python -c pass, for scale)", [time.perf_counter() - started], "s")
    finally:
        server.stop()


def memory(tmp: Path) -> None:
    print("serve resident memory (VmRSS):")
    for shared in (True, False):
        server = Server(tmp)
        try:
            time.sleep(0.5)
            idle = server.rss_mib()
            for b in range(10):
                prefix = "shared" if shared else f"b{b}"
                topics = [f"{prefix}-topic-{i:05d}" for i in range(10_000)]
                data = register_frame(
                    f"broker-{b}", f"127.0.0.{b + 1}:10911", topics, 1, compressed=True
                )
                timed_register(server, server.connect(), data)
            layout = "same 10,000 topics on each" if shared else "10,000 own topics each"
            show("idle", [idle], "MiB")
            show(f"10 brokers x 10,000 topics ({layout})", [server.rss_mib()], "MiB")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--skip-100k", action="store_true", help="leave out the 100,000 cases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        registrations(tmp, 10_000, args.runs, compressed=False)
        registrations(tmp, 10_000, args.runs, compressed=True)
        if not args.skip_100k:
            registrations(tmp, 100_000, args.runs, compressed=True)
            topic_list(tmp, 100_000, args.runs)
        memory(tmp)


if __name__ == "__main__":
    main()
