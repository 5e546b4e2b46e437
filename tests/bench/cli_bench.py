"""CLI start-up cost: wall time of `nsctl --version` and `nsctl topicRoute` against a local
server, beside `python -c pass`.

Run: .venv/bin/python tests/bench/cli_bench.py [--runs 20]
Target: topicRoute under 150 ms wall. Prints min / median / max per case.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nsctl.server import EmbeddedNameServer

NSCTL = str(Path(sys.executable).with_name("nsctl"))


# Measure what an installed nsctl costs: bytecode compiled and cached, as `pip install` leaves
# it (a sandbox may set PYTHONDONTWRITEBYTECODE, which would recompile every module every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV
        )
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    print(
        f"  {label:<44} min {min(times):6.1f} ms   median {statistics.median(times):6.1f} ms"
        f"   max {max(times):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    import compileall
    import sysconfig

    for tree in (Path(__file__).resolve().parents[2] / "nsctl", sysconfig.get_paths()["purelib"]):
        compileall.compile_dir(str(tree), quiet=2)
    env_python = [sys.executable, "-c", "pass"]
    with EmbeddedNameServer(host="127.0.0.1", port=0) as server:
        broker = subprocess.Popen(
            [
                NSCTL,
                "registerBroker",
                "-n",
                server.address,
                "-c",
                "BenchCluster",
                "-b",
                "broker-a",
                "-a",
                "127.0.0.1:10911",
                "-t",
                "BenchTopic:8:8:6",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            broker.stdout.readline()  # "registered ..." once the broker is in
            print(f"{runs} runs each, {os.cpu_count()} CPUs")
            report("python -c pass", wall(env_python, runs))
            report("nsctl --version", wall([NSCTL, "--version"], runs))
            for output in ("json", "plain", "table"):
                times = wall(
                    [NSCTL, "topicRoute", "-t", "BenchTopic", "-n", server.address, "-o", output],
                    runs,
                )
                report(f"nsctl topicRoute -o {output}", times)
        finally:
            broker.terminate()
            broker.wait(timeout=10)


if __name__ == "__main__":
    main()
