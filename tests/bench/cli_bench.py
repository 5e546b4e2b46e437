"""CLI start-up cost: wall time of `nsctl --version` and `nsctl topicRoute` against a local
server, beside `python -c pass`.

Run: .venv/bin/python tests/bench/cli_bench.py [--runs 20]
Target: topicRoute under 150 ms wall. Prints min / median / max per case.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from benchlib import NSCTL, report, wall

from nsctl.server import EmbeddedNameServer


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
            report("python -c pass", wall(env_python, runs, check=True))
            report("nsctl --version", wall([NSCTL, "--version"], runs, check=True))
            for output in ("json", "plain", "table"):
                times = wall(
                    [NSCTL, "topicRoute", "-t", "BenchTopic", "-n", server.address, "-o", output],
                    runs,
                    check=True,
                )
                report(f"nsctl topicRoute -o {output}", times)
        finally:
            broker.terminate()
            broker.wait(timeout=10)


if __name__ == "__main__":
    main()
