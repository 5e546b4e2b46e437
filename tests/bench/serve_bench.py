"""Benchmark of `nsctl serve`, answer cache on and off (a script; pytest does not collect it).

    .venv/bin/python tests/bench/serve_bench.py [--seconds 2] [--runs 2] [--loadgen-src FILE]

Starts `nsctl serve --port 0` twice as real processes on 127.0.0.1, one with the answer cache
(the default) and one with `--no-answer-cache`, registers a broker with the asked topic on
each, and drives GET_ROUTEINFO_BY_TOPIC for that topic with the pipelined C load generator
(../shared/tools/loadgen.c from the repository root, or --loadgen-src; compiled with
`gcc -O2 -D_GNU_SOURCE` into a temporary directory). Cases are connections x requests in
flight: 1x1, 16x1, 16x16, 16x64. For each it prints, cache on and off side by side, the
answers per second (the generator's count after its 0.5 s warm-up) and the server's CPU per
answer (utime + stime from /proc/PID/stat over the measured window, divided by the answers).
Every case runs `--runs` times, the two servers alternating, so that noise from other work on
the machine shows as a spread. Without the C source or a compiler it says so and falls back to
a Python asyncio generator, which is then the bottleneck.

Then, on the cached server: REGISTER_BROKER cost for 1,000 and 10,000 topics, and resident
memory with 10 brokers x 1,000 topics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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

LOADGEN_SRC = Path("shared") / "tools" / "loadgen.c"
CASES = ((1, 1), (16, 1), (16, 16), (16, 64))
TOPIC = "TopicTest"
WARM_UP = 0.5  # the C generator's own warm-up before it starts counting
MAX_REQUESTS_PER_CASE = 400_000  # bound of the Python fallback generator


def default_loadgen_src() -> Path:
    """../shared/tools/loadgen.c from the repository root; from a git worktree, from the root
    of the main checkout too."""
    roots = [ROOT]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        if common:
            roots.append(Path(common).parent)
    for root in roots:
        if (root.parent / LOADGEN_SRC).is_file():
            return root.parent / LOADGEN_SRC
    return ROOT.parent / LOADGEN_SRC


class Server:
    """A `nsctl serve` process and the connection its broker is registered on (also used by
    metrics_bench.py). `event_loop`: `--event-loop`, given only when set (older revisions,
    run as `source`, may not know it)."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        extra: list[str],
        event_loop: str | None = None,
        *,
        source: Path = ROOT,
    ) -> None:
        self.name = name
        args = ["--log-level", "WARNING", "--kv-config-path", str(tmp / f"{name}-kvConfig.json")]
        if event_loop is not None:
            args += ["--event-loop", event_loop]
        self.process, self.address = start_serve([*args, *extra], f"{name} server", source=source)
        self.host, port = self.address.rsplit(":", 1)
        self.port = int(port)
        # A registration lives as long as its connection: keep it open.
        self.broker = socket.create_connection((self.host, self.port))
        self.broker.sendall(register_frame("broker-bench", "127.0.0.1:20911", 10, 1, 1, True))
        read_frame(self.broker)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        self.broker.close()
        self.process.terminate()
        self.process.wait(10)


# --------------------------------------------------------------------------------------------
# Frames


def route_request(opaque: int) -> bytes:
    command = RemotingCommand(code=105, opaque=opaque, ext_fields={"topic": TOPIC})
    return frame.encode(command)


def register_frame(
    name: str, addr: str, topics: int, counter: int, opaque: int, route_topic: bool = False
) -> bytes:
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(counter, int(time.time() * 1000), 0)
    for i in range(topics):
        wrapper.topic_config_table[f"{name}-topic-{i}"] = TopicConfig(f"{name}-topic-{i}", 8, 8)
    if route_topic:  # the topic the route benchmark asks for
        wrapper.topic_config_table[TOPIC] = TopicConfig(TOPIC, 4, 4)
    raw = body.encode()
    ext = {
        "brokerName": name,
        "brokerAddr": addr,
        "clusterName": "BenchCluster",
        "haServerAddr": addr,
        "brokerId": "0",
        "compressed": "false",
        "bodyCrc32": str(body_crc32(raw)),
    }
    return frame.encode(RemotingCommand(code=103, opaque=opaque, ext_fields=ext, body=raw))


def read_frame(sock: socket.socket) -> bytes:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        return data

    (length,) = struct.unpack(">i", exactly(4))
    return exactly(length)


# --------------------------------------------------------------------------------------------
# Load generators: (server, connections, depth, seconds) -> (answers/s, answers counted,
# server CPU seconds over the counted window)

Generator = Callable[[Server, int, int, float], tuple[float, int, float]]


@contextlib.contextmanager
def c_loadgen(source: Path) -> Iterator[Generator | None]:
    """The compiled C generator, or None (after saying why) when it cannot be built."""
    if not source.is_file():
        print(f"C load generator source not found at {source} (--loadgen-src)")
        yield None
        return
    compiler = shutil.which("gcc")
    if compiler is None:
        print("gcc not found: cannot build the C load generator")
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="nsctl-loadgen-") as tmp:
        binary = Path(tmp) / "loadgen"
        built = subprocess.run(
            [compiler, "-O2", "-D_GNU_SOURCE", "-o", str(binary), str(source)],
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            print(f"cannot build the C load generator {source}:\n{built.stderr.strip()}")
            yield None
            return

        def run(server: Server, connections: int, depth: int, seconds: float):
            command = [binary, server.host, str(server.port), TOPIC, connections, depth, seconds]
            process = subprocess.Popen(
                [str(part) for part in command], stdout=subprocess.PIPE, text=True
            )
            time.sleep(WARM_UP)
            cpu_before = server.cpu_seconds()
            out, _ = process.communicate(timeout=seconds + 30)
            cpu = server.cpu_seconds() - cpu_before
            figures = dict(part.split("=") for part in out.split())
            if process.returncode != 0 or int(figures.get("err", 1)) != 0:
                raise SystemExit(f"load generator failed on {server.name}: {out!r}")
            return float(figures["qps"]), int(figures["ok"]), cpu

        yield run


def python_loadgen(server: Server, connections: int, depth: int, seconds: float):
    """Fallback: an asyncio generator in this process (bounded in time and request count)."""
    return asyncio.run(_python_load(server, connections, depth, seconds))


async def _python_load(server: Server, connections: int, depth: int, seconds: float):
    batch = b"".join(route_request(i) for i in range(depth))
    budget = MAX_REQUESTS_PER_CASE // connections
    done = [0] * connections
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            while time.perf_counter() < deadline and done[index] < budget:
                writer.write(batch)
                for _ in range(depth):
                    (length,) = struct.unpack(">i", await reader.readexactly(4))
                    await reader.readexactly(length)
                done[index] += depth
        finally:
            writer.close()

    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    return sum(done) / elapsed, sum(done), server.cpu_seconds() - cpu_before


# --------------------------------------------------------------------------------------------
# Sections


def route_throughput(servers: list[Server], generator: Generator, seconds: float, runs: int):
    names = [server.name for server in servers]
    print(
        f"\nGET_ROUTEINFO_BY_TOPIC for one topic: answers/s and server CPU per answer "
        f"({runs} runs of {seconds:g} s per case, the servers alternating)"
    )
    header = "  ".join(f"{name + ' qps':>24} {name + ' µs/answer':>22}" for name in names)
    print(f"  {'conns x in flight':<18}{header}")
    for connections, depth in CASES:
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for _ in range(runs):
            for server in servers:
                qps, answers, cpu = generator(server, connections, depth, seconds)
                results[server.name].append((qps, cpu * 1e6 / max(answers, 1)))
        cells = []
        for name in names:
            rates = " / ".join(f"{qps:,.0f}" for qps, _ in results[name])
            costs = " / ".join(f"{cost:.2f}" for _, cost in results[name])
            cells.append(f"{rates:>24} {costs:>22}")
        print(f"  {f'{connections} x {depth}':<18}" + "  ".join(cells))


def register_and_memory(server: Server) -> None:
    print(f"\nResident memory of the {server.name} server")
    before = rss_mib(server.pid)
    keep = []
    for b in range(10):
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(register_frame(f"mem-broker-{b}", f"127.0.1.{b}:10911", 1000, 1, 100 + b))
        read_frame(sock)
        keep.append(sock)
    after = rss_mib(server.pid)
    print(f"  {before:.1f} MiB after the route runs; with 10 brokers x 1,000 topics")
    print(f"  {after:.1f} MiB (+{after - before:.1f} MiB)")
    for sock in keep:
        sock.close()

    print(f"\nREGISTER_BROKER cost on the {server.name} server (ms, request to answer)")
    for topics in (1_000, 10_000):
        name = f"broker-{topics}"
        timings = []
        with socket.create_connection((server.host, server.port)) as sock:
            for counter, opaque in ((1, 7), (2, 8)):
                data = register_frame(name, f"127.0.0.2:{topics}", topics, counter, opaque)
                started = time.perf_counter()
                sock.sendall(data)
                read_frame(sock)
                timings.append((time.perf_counter() - started) * 1000)
        print(f"  {topics:>6} topics: first {timings[0]:8.1f}   new DataVersion {timings[1]:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark of nsctl serve with the answer cache on and off.",
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each run")
    parser.add_argument("--runs", type=int, default=2, help="runs of each case per server")
    parser.add_argument(
        "--loadgen-src",
        type=Path,
        default=None,
        help="C load generator source (default: ../shared/tools/loadgen.c from the "
        "repository root, or from the main checkout's root in a git worktree)",
    )
    parser.add_argument(
        "--event-loop",
        default="asyncio",
        choices=["asyncio", "uvloop"],
        help="the servers' event loop (nsctl serve --event-loop; uvloop must be installed)",
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} (other work on the machine shows in the figures), "
        f"server event loop {args.event_loop}"
    )
    source = args.loadgen_src or default_loadgen_src()
    with tempfile.TemporaryDirectory() as tmp, c_loadgen(source) as compiled:
        generator = compiled
        if generator is None:
            print("falling back to the Python load generator (it, not the server, is the limit)")
            generator = python_loadgen
        else:
            print(f"load generator: {source} (C, pipelined)")
        servers = []
        try:
            servers.append(Server(Path(tmp), "cache-on", [], args.event_loop))
            servers.append(Server(Path(tmp), "cache-off", ["--no-answer-cache"], args.event_loop))
            route_throughput(servers, generator, args.seconds, args.runs)
            register_and_memory(servers[0])
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
