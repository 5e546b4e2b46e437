"""CLI start-up cost, on a non-editable install (as users install nsctl): wall time of route
queries in each output format, `nsctl --help` and a live `__complete`, against a local
NameServer, beside `python -c pass` and `nsctl --version`.

Run: .venv/bin/python tests/bench/cli_bench.py [--runs 20] [--installed DIR]
It builds a wheel of this checkout and installs it into a fresh venv under a temporary folder
(or uses the venv DIR given), so the figures hold no editable-install finder.

Targets (median of 20): `topicRoute -o json` / `-o plain` <= 60 ms, `-o table` <= 80 ms,
`nsctl --help` <= 100 ms, `nsctl __complete topics` <= 80 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import ROOT, report, wall

from nsctl.server import EmbeddedNameServer

TARGETS_MS = {
    "nsctl topicRoute -o json": 60,
    "nsctl topicRoute -o plain": 60,
    "nsctl topicRoute -o table": 80,
    "nsctl --help": 100,
    "nsctl __complete topics (live)": 80,
}


def installed_venv(folder: Path) -> Path:
    """A venv with this checkout installed from a wheel (no editable finder)."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(ROOT)], check=True)
    return venv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--installed", type=Path, help="a venv with nsctl installed already")
    options = parser.parse_args()
    runs = options.runs
    with tempfile.TemporaryDirectory() as tmp:
        venv = options.installed or installed_venv(Path(tmp))
        nsctl = str(venv / "bin" / "nsctl")
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-m", "compileall", "-q", str(venv / "lib")], check=False)
        with EmbeddedNameServer(
            host="127.0.0.1", port=0, kv_config_path=Path(tmp) / "kv.json"
        ) as server:
            broker = subprocess.Popen(
                [nsctl, "registerBroker", "-n", server.address, "-c", "BenchCluster",
                 "-b", "broker-a", "-a", "127.0.0.1:10911", "-t", "BenchTopic:8:8:6"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            try:
                assert broker.stdout is not None
                broker.stdout.readline()  # "registered ..." once the broker is in
                route = [nsctl, "topicRoute", "-t", "BenchTopic", "-n", server.address]
                cases = {
                    "python -c pass": [python, "-c", "pass"],
                    "nsctl --version": [nsctl, "--version"],
                    "nsctl topicRoute -o json": [*route, "-o", "json"],
                    "nsctl topicRoute -o plain": [*route, "-o", "plain"],
                    "nsctl topicRoute -o table": [*route, "-o", "table"],
                    "nsctl --help": [nsctl, "--help"],
                    "nsctl __complete topics (live)": [
                        nsctl, "__complete", "topics", "-n", server.address
                    ],
                }  # fmt: skip
                print(f"{runs} runs each, {os.cpu_count()} CPUs, installed in {venv}")
                for label, argv in cases.items():
                    wall(argv, 2, check=True)  # warm the bytecode and page caches
                    times = wall(argv, runs, check=True)
                    report(label, times)
                    target = TARGETS_MS.get(label)
                    if target is not None:
                        median = statistics.median(times)
                        verdict = (
                            "met" if median <= target else f"missed by {median - target:.0f} ms"
                        )
                        print(f"    target <= {target} ms: {verdict}")
            finally:
                broker.terminate()
                broker.wait(timeout=10)


if __name__ == "__main__":
    main()
