"""Benchmark of `nsctl serve` (a script; pytest does not collect tests/bench).

    .venv/bin/python tests/bench/serve_bench.py [--seconds 2]

Starts `nsctl serve --port 0` as a subprocess on 127.0.0.1 and drives it from this process with
its own asyncio load generator (bounded in time and request count, loopback only):

* GET_ROUTEINFO_BY_TOPIC throughput with 1, 16 and 256 connections, one request in flight per
  connection and pipelined (32 in flight per connection);
* REGISTER_BROKER cost for a broker with 1,000 and 10,000 topics (first registration, then a
  re-registration with a new DataVersion, which rewrites every QueueData);
* resident memory of the server with 10,000 topics across 10 brokers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nsctl.protocol import frame  # noqa: E402
from nsctl.protocol.command import RemotingCommand  # noqa: E402
from nsctl.protocol.register import (  # noqa: E402
    DataVersion,
    RegisterBrokerBody,
    TopicConfig,
    body_crc32,
)

MAX_REQUESTS_PER_CASE = 400_000
PIPELINE_DEPTH = 32


EVENT_LOOP = "asyncio"


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0"),
            *("--event-loop", EVENT_LOOP),
            *("--kv-config-path", str(tmp / "kvConfig.json"), "--log-level", "WARNING"),
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("NameServer listening on "):
        process.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return process, line.split()[-1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def route_request(opaque: int) -> bytes:
    command = RemotingCommand(code=105, opaque=opaque, ext_fields={"topic": "TopicTest"})
    return frame.encode(command)


def register_frame(
    name: str, addr: str, topics: int, counter: int, opaque: int, *, route_topic: bool = False
) -> bytes:
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(counter, int(time.time() * 1000), 0)
    for i in range(topics):
        wrapper.topic_config_table[f"{name}-topic-{i}"] = TopicConfig(f"{name}-topic-{i}", 8, 8)
    if route_topic:  # the topic the route benchmark asks for
        wrapper.topic_config_table["TopicTest"] = TopicConfig("TopicTest", 4, 4)
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


async def read_frames(reader: asyncio.StreamReader, count: int) -> None:
    for _ in range(count):
        (length,) = struct.unpack(">i", await reader.readexactly(4))
        await reader.readexactly(length)


async def call(address: str, data: bytes) -> float:
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.perf_counter()
    writer.write(data)
    await read_frames(reader, 1)
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed


async def route_load(address: str, connections: int, depth: int, seconds: float) -> float:
    """Requests per second answered, with `depth` requests in flight per connection."""
    host, port = address.rsplit(":", 1)
    batch = b"".join(route_request(i) for i in range(depth))
    budget = MAX_REQUESTS_PER_CASE // connections
    done = [0] * connections
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline and done[index] < budget:
                writer.write(batch)
                await read_frames(reader, depth)
                done[index] += depth
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return sum(done) / (time.perf_counter() - started)


async def main(seconds: float) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        process, address = start_server(Path(tmp))
        try:
            await run_cases(process.pid, address, seconds)
        finally:
            process.terminate()
            process.wait(10)


async def run_cases(pid: int, address: str, seconds: float) -> None:
    print(f"server {address} (pid {pid}), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    # Keep the registering connections open: a registration lives as long as its connection.
    host, port = address.rsplit(":", 1)
    keep = []
    print("\nResident memory with 10,000 topics across 10 brokers")
    before = rss_kib(pid)
    for b in range(10):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(register_frame(f"mem-broker-{b}", f"127.0.1.{b}:10911", 1000, 1, 100 + b))
        await read_frames(reader, 1)
        keep.append(writer)
    after = rss_kib(pid)
    print(f"  idle server {before / 1024:.1f} MiB; with 10 brokers x 1,000 topics")
    print(f"  {after / 1024:.1f} MiB (+{(after - before) / 1024:.1f} MiB)")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(register_frame("broker-bench", "127.0.0.1:20911", 10, 1, 1, route_topic=True))
    await read_frames(reader, 1)
    keep.append(writer)

    print("\nGET_ROUTEINFO_BY_TOPIC throughput (requests/s)")
    for connections in (1, 16, 256):
        for depth, label in (
            (1, "one in flight"),
            (PIPELINE_DEPTH, f"pipelined x{PIPELINE_DEPTH}"),
        ):
            rate = await route_load(address, connections, depth, seconds)
            print(f"  {connections:>3} connections, {label:<15} {rate:>10,.0f}")

    print("\nREGISTER_BROKER cost (ms, request to answer)")
    for topics in (1_000, 10_000):
        name = f"broker-{topics}"
        first = await call(address, register_frame(name, f"127.0.0.2:{topics}", topics, 1, 7))
        again = await call(address, register_frame(name, f"127.0.0.2:{topics}", topics, 2, 8))
        print(
            f"  {topics:>6} topics: first {first * 1000:8.1f}   new DataVersion {again * 1000:8.1f}"
        )

    for writer in keep:
        writer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each load case")
    parser.add_argument(
        "--event-loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="the server's event loop (nsctl serve --event-loop)",
    )
    args = parser.parse_args()
    EVENT_LOOP = args.event_loop
    print(f"server event loop: {EVENT_LOOP}")
    asyncio.run(main(args.seconds))
