"""Live shell completion cost: wall time of `nsctl __complete topics -n ADDR` (what a TAB runs)
against a NameServer with the demo cluster, a silent one (accepts, never answers) and a dead
address, beside `python -c pass`.

Run: .venv/bin/python tests/bench/complete_bench.py [--runs 15]
Target: about 300 ms wall in every case (the NameServer part is budgeted at 0.15 s).
Prints min / median / max per case.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from pathlib import Path

from benchlib import NSCTL, report, wall

from nsctl.server import EmbeddedNameServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per case (default 15)")
    runs = parser.parse_args().runs
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNameServer(port=0, kv_config_path=Path(tmp) / "kv.json") as server,
        socket.socket() as silent,
        socket.socket() as dead,
    ):
        from nsctl.client import NameServerClient

        with NameServerClient(server.address) as client:  # some topics to list
            for i in range(50):
                client.put_kv_config("bench", f"k{i}", "v")
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        dead.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "__complete clusters (live)": [NSCTL, "__complete", "clusters", "-n", server.address],
            "__complete topics (silent server)": [
                NSCTL,
                "__complete",
                "topics",
                "-n",
                "127.0.0.1:%d" % silent.getsockname()[1],
            ],
            "__complete topics (dead address)": [
                NSCTL,
                "__complete",
                "topics",
                "-n",
                "127.0.0.1:%d" % dead.getsockname()[1],
            ],
        }
        for label, argv in cases.items():
            wall(argv, 1)  # warm the bytecode cache
            report(label, wall(argv, runs))


if __name__ == "__main__":
    main()
