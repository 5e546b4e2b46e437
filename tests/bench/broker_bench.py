"""Broker fan-out benchmark: how long `clusterList` takes when some brokers never answer.

    .venv/bin/python tests/bench/broker_bench.py [--brokers 100] [--silent 10] [--timeout 1.0]
                                                  [--runs 5] [--dead refused|silent]

An embedded NameServer lists `--brokers` broker addresses on loopback: stand-ins that answer
GET_BROKER_RUNTIME_INFO with a captured 5.3.3 broker answer, and `--silent` that accept the
connection and never answer (or, with `--dead refused`, where nothing listens). It prints the
wall time of the library fan-out and of the whole `nsctl clusterList -o plain` process, with
all brokers answering and with the silent ones, beside `--timeout`: the target is about one
timeout plus a few hundred milliseconds, however many brokers are silent.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nsctl.client import NameServerClient  # noqa: E402
from nsctl.client.broker_fanout import runtime_infos  # noqa: E402
from nsctl.protocol.register import TopicConfig  # noqa: E402
from nsctl.server import EmbeddedNameServer  # noqa: E402
from tests.broker_standins import StandInBrokers, refused_address  # noqa: E402


def register(client: NameServerClient, addresses: list[str]) -> None:
    for index, address in enumerate(addresses):
        name = f"broker-{index:03d}"
        client.register_broker(
            cluster_name="BenchCluster",
            broker_name=name,
            broker_addr=address,
            topic_configs={"BenchTopic": TopicConfig("BenchTopic", 4, 4), name: TopicConfig(name)},
        )


def library_fanout(addresses: list[str], timeout: float, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answers = asyncio.run(runtime_infos(addresses, timeout=timeout))
        times.append(time.perf_counter() - started)
        assert len(answers) == len(addresses)
    return times


def cli_run(namesrv: str, timeout: float, runs: int) -> tuple[list[float], int]:
    times, failing = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "nsctl.cli.main",
                "clusterList",
                "-o",
                "plain",
                "-n",
                namesrv,
                "--timeout",
                str(timeout),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"clusterList failed ({result.returncode}): {result.stderr}")
        failing = len(result.stderr.splitlines())
    return times, failing


def summary(label: str, times: list[float], timeout: float) -> str:
    median = statistics.median(times)
    return (
        f"{label:52s} min {min(times):6.3f} s  median {median:6.3f} s  "
        f"(timeout {timeout:.2f} s {median - timeout:+.3f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", type=int, default=100, help="broker addresses listed")
    parser.add_argument("--silent", type=int, default=10, help="how many of them never answer")
    parser.add_argument("--timeout", type=float, default=1.0, help="per-broker timeout, seconds")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    parser.add_argument(
        "--dead",
        choices=("silent", "refused"),
        default="silent",
        help="silent: accept and never answer (the slow case); refused: nothing listens",
    )
    args = parser.parse_args()
    if not 0 <= args.silent <= args.brokers:
        parser.error("--silent must be between 0 and --brokers")

    with StandInBrokers() as stand_ins, EmbeddedNameServer(host="127.0.0.1", port=0) as healthy_ns:
        answering = [stand_ins.add("answer") for _ in range(args.brokers - args.silent)]
        if args.dead == "silent":
            dead = [stand_ins.add("silent") for _ in range(args.silent)]
        else:
            dead = [refused_address() for _ in range(args.silent)]
        everyone = answering + dead
        with (
            EmbeddedNameServer(host="127.0.0.1", port=0) as faulty_ns,
            NameServerClient(healthy_ns.address) as healthy,
            NameServerClient(faulty_ns.address) as faulty,
        ):
            fresh = [stand_ins.add("answer") for _ in range(args.silent)]
            register(healthy, answering + fresh)
            register(faulty, everyone)
            print(
                f"{args.brokers} brokers on loopback, {args.silent} {args.dead}; "
                f"--timeout {args.timeout} s; {args.runs} runs each"
            )
            print(
                summary(
                    "library fan-out, all answer",
                    library_fanout(answering + fresh, args.timeout, args.runs),
                    args.timeout,
                )
            )
            print(
                summary(
                    f"library fan-out, {args.silent} {args.dead}",
                    library_fanout(everyone, args.timeout, args.runs),
                    args.timeout,
                )
            )
            times, _ = cli_run(healthy_ns.address, args.timeout, args.runs)
            print(summary("nsctl clusterList -o plain, all answer", times, args.timeout))
            times, failing = cli_run(faulty_ns.address, args.timeout, args.runs)
            print(
                summary(
                    f"nsctl clusterList -o plain, {args.silent} {args.dead}", times, args.timeout
                )
            )
            print(
                f"  ({failing} brokers named on stderr; asked one after the other, "
                f"{args.silent} silent brokers would cost {args.silent * args.timeout:.1f} s)"
            )


if __name__ == "__main__":
    main()
