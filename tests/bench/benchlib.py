"""What the benchmarks share: timing whole commands, and a `nsctl serve` process with the
figures /proc gives about it. Imported by the bench scripts from their own folder."""

from __future__ import annotations

import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NSCTL = str(Path(sys.executable).with_name("nsctl"))
TICKS = os.sysconf("SC_CLK_TCK")
READY = "NameServer listening on "

# Measure what an installed nsctl costs: bytecode compiled and cached, as `pip install` leaves
# it (a sandbox may set PYTHONDONTWRITEBYTECODE, which would recompile every module every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str], runs: int, *, check: bool = False) -> list[float]:
    """Milliseconds of `runs` runs of `argv`, output discarded."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=check, env=ENV
        )
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    print(
        f"  {label:<44} min {min(times):6.1f} ms   median {statistics.median(times):6.1f} ms"
        f"   max {max(times):6.1f} ms"
    )


def start_serve(
    args: list[str], what: str = "nsctl serve", *, source: Path = ROOT
) -> tuple[subprocess.Popen, str]:
    """`nsctl serve --port 0 ARGS` as a process, once it listens; (process, "host:port").
    `source`: the checkout whose nsctl runs (another revision's, to compare)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        cwd=source,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith(READY):
        process.kill()
        raise SystemExit(f"{what} did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
