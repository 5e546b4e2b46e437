"""Client benchmark against the embedded NameServer (a script, not collected by pytest).

    .venv/bin/python tests/bench/client_bench.py [--requests 5000] [--concurrency 200]

Prints the sequential round-trip latency of the sync client (p50/p99) for a KV read and a
topic-route query, and the throughput of the asyncio client with many requests in flight on one
connection. Server and client share the machine, so the figures include both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from nsctl.client import AsyncNameServerClient, NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def sync_latency(address: str, requests: int) -> None:
    with NameServerClient(address) as client:
        client.put_kv_config("bench", "key", "value")
        client.register_broker(
            cluster_name="BenchCluster",
            broker_name="bench-broker",
            broker_addr="127.0.0.1:10911",
            # Two topics: a 5.3.3 NameServer refuses a first registration carrying exactly one.
            topic_configs={
                "BenchTopic": TopicConfig("BenchTopic", 8, 8, 6),
                "BenchTopic2": TopicConfig("BenchTopic2", 4, 4, 6),
            },
        )
        for name, call in (
            ("get_kv_config", lambda: client.get_kv_config("bench", "key")),
            ("query_topic_route_info", lambda: client.query_topic_route_info("BenchTopic")),
        ):
            for _ in range(200):  # warm-up
                call()
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1e6)
            print(
                f"sync {name:24s} n={requests}  p50={percentile(samples, 0.50):7.1f} us  "
                f"p99={percentile(samples, 0.99):7.1f} us  mean={statistics.fmean(samples):7.1f} us"
            )


async def async_throughput(address: str, requests: int, concurrency: int) -> None:
    async with AsyncNameServerClient(address, timeout=30.0) as client:
        await client.put_kv_config("bench", "key", "value")
        semaphore = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with semaphore:
                await client.get_kv_config("bench", "key")

        await asyncio.gather(*(one() for _ in range(500)))  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        elapsed = time.perf_counter() - started
    print(
        f"async get_kv_config n={requests} in flight<={concurrency}: "
        f"{requests / elapsed:8.0f} req/s ({elapsed:.2f} s, one connection)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    with EmbeddedNameServer(host="127.0.0.1", port=0) as server:
        sync_latency(server.address, args.requests)
        asyncio.run(async_throughput(server.address, args.requests * 4, args.concurrency))


if __name__ == "__main__":
    main()
