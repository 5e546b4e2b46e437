"""A silent first NameServer: wall time of `nsctl topicRoute` with the first of three addresses
accepting connections and never answering, with the hedge (default 0.3 s) and without it
(`NSCTL_HEDGE_DELAY=0`, where each call waits the silent one's --timeout).

Run: .venv/bin/python tests/bench/hedge_bench.py [--runs 10]
Target: under 0.6 s with the hedge. Prints min / median / max per case.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import NSCTL, report

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNameServer(port=0, kv_config_path=Path(tmp) / "1.json") as one,
        EmbeddedNameServer(port=0, kv_config_path=Path(tmp) / "2.json") as two,
        socket.socket() as silent,
    ):
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        clients = []
        for ns in (one, two):
            client = NameServerClient(ns.address)
            clients.append(client)
            client.register_broker(
                cluster_name="C", broker_name="b", broker_addr="127.0.0.1:10911",
                topic_configs={"T": TopicConfig("T", 4, 4), "U": TopicConfig("U", 4, 4)},
            )  # fmt: skip
        namesrv = f"127.0.0.1:{silent.getsockname()[1]};{one.address};{two.address}"
        argv = [NSCTL, "topicRoute", "-t", "T", "-n", namesrv, "--timeout", "3", "-o", "json"]
        print(f"{runs} runs each; first of three addresses silent, --timeout 3")
        for label, delay in (("hedged (0.3 s)", "0.3"), ("no hedge", "0")):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                               env={**os.environ, "NSCTL_HEDGE_DELAY": delay})  # fmt: skip
                times.append((time.perf_counter() - started) * 1000)
            report(f"nsctl topicRoute, {label}", times)
            if delay != "0":
                median = statistics.median(times)
                print(f"    target < 600 ms: {'met' if median < 600 else 'missed'}")
        for client in clients:
            client.close()


if __name__ == "__main__":
    main()
