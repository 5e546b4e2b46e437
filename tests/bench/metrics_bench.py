"""What `serve --metrics-port` costs the route hot path (a script; pytest does not collect it).

    .venv/bin/python tests/bench/metrics_bench.py [--seconds 3] [--runs 3] [--baseline REV]

One `nsctl serve --metrics-port` process with a broker registered; GET_ROUTEINFO_BY_TOPIC for
its topic from the pipelined C load generator (serve_bench's, ../shared/tools/loadgen.c), at
1x1, 16x1, 16x16 and 16x64 connections x in flight. Each case runs `--runs` times without a
scraper and with one scraping /metrics once a second (a separate process at nice 19, standing in
for a Prometheus on another host), the two alternating on the same server and in turn first, so
that the difference is the scrape's cost and not another process's luck or the machine's
drift. It prints answers/s and server CPU per answer for both, the loss by medians and the
median of the losses of neighbouring runs, and what one scrape costs the server.

`--baseline REV` adds a server run from `git archive REV` (e.g. the commit before the metrics)
with no metrics option, alternating with the others: what counting itself costs.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from serve_bench import Server as ServeServer  # noqa: E402
from serve_bench import c_loadgen, default_loadgen_src  # noqa: E402

CASES = ((1, 1), (16, 1), (16, 16), (16, 64))


def quiet_server(tmp: Path, name: str, extra: list[str], source: Path = ROOT) -> ServeServer:
    """serve_bench's server, its broker connection silent for the whole run: never idle, never
    expired."""
    quiet = ["--idle-timeout", "0", "--broker-expire", "86400"]
    return ServeServer(tmp, name, [*quiet, *extra], source=source)


_SCRAPER = """
import os, sys, time, urllib.request
os.nice(19)  # a real scraper runs elsewhere: here it must not take the server's core
url, count = sys.argv[1], 0
next_at = time.monotonic()
while True:
    with urllib.request.urlopen(url, timeout=5) as answer:
        answer.read()
    count += 1
    print(count, flush=True)
    next_at += 1.0
    time.sleep(max(0.0, next_at - time.monotonic()))
"""


class Scraper:
    """GET /metrics once a second, from a separate process at the lowest priority."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.scrapes = 0
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Scraper:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SCRAPER, self.url], stdout=subprocess.PIPE, text=True
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        out, _ = self._process.communicate(timeout=10)
        self.scrapes = len(out.split())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loadgen-src", type=Path, default=default_loadgen_src())
    parser.add_argument("--baseline", help="git revision to compare with (no metrics)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nsctl-mbench-")))
        generator = stack.enter_context(c_loadgen(args.loadgen_src))
        if generator is None:
            raise SystemExit("this benchmark needs the C load generator")
        port = free_port()
        server = quiet_server(tmp, "metrics", ["--metrics-port", str(port)])
        stack.callback(server.stop)
        url = f"http://127.0.0.1:{port}/metrics"
        baseline = None
        if args.baseline:
            source = tmp / "baseline"
            source.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=True
            ).stdout
            archive_path = tmp / "baseline.tar"
            archive_path.write_bytes(archive)
            with tarfile.open(archive_path) as tar:
                tar.extractall(source, filter="data")
            baseline = quiet_server(tmp, f"baseline {args.baseline}", [], source=source)
            stack.callback(baseline.stop)

        print(
            f"GET_ROUTEINFO_BY_TOPIC, answer cache on: answers/s (median of {args.runs} runs "
            f"of {args.seconds:g} s) and server CPU per answer; scraper: GET /metrics once a "
            "second on the same server"
        )
        columns = ["no scraper", "scraped 1/s"] + (["baseline"] if baseline else [])
        print(f"  {'case':<8}" + "".join(f"{c:>28}" for c in columns) + f"{'loss':>9}")
        for connections, depth in CASES:
            results: dict[str, list[tuple[float, float]]] = {c: [] for c in columns}
            scrapes = 0
            for run in range(args.runs):
                # Alternate which comes first, so that drift does not favour either.
                for scraped in (False, True) if run % 2 == 0 else (True, False):
                    with contextlib.ExitStack() as scraping:
                        if scraped:
                            scraper = scraping.enter_context(Scraper(url))
                            time.sleep(0.2)  # its interpreter has started
                        qps, answers, cpu = generator(server, connections, depth, args.seconds)
                    if scraped:
                        scrapes += scraper.scrapes
                    column = "scraped 1/s" if scraped else "no scraper"
                    results[column].append((qps, cpu / answers * 1e6))
                if baseline is not None:
                    qps, answers, cpu = generator(baseline, connections, depth, args.seconds)
                    results["baseline"].append((qps, cpu / answers * 1e6))
            medians = {
                c: (
                    statistics.median(q for q, _ in r),
                    statistics.median(u for _, u in r),
                )
                for c, r in results.items()
            }
            loss = 1 - medians["scraped 1/s"][0] / medians["no scraper"][0]
            # Each scraped run against the unscraped run next to it: drift cancels out.
            paired = statistics.median(
                1 - s[0] / n[0]
                for n, s in zip(results["no scraper"], results["scraped 1/s"], strict=True)
            )
            cells = "".join(f"{q:>16,.0f} {u:>6.2f} µs/a " for q, u in medians.values())
            print(
                f"  {connections}x{depth:<6}{cells}{loss:>8.1%}  (paired median {paired:.1%}; "
                f"{scrapes} scrapes)"
            )
            for column, runs in results.items():
                print(f"    {column:<14}" + " / ".join(f"{q:,.0f}" for q, _ in runs))
        with urllib.request.urlopen(url, timeout=5) as answer:
            size = len(answer.read())
        cpu_before = server.cpu_seconds()
        start = time.perf_counter()
        for _ in range(200):
            with urllib.request.urlopen(url, timeout=5) as answer:
                answer.read()
        each = (time.perf_counter() - start) / 200 * 1000
        cpu = (server.cpu_seconds() - cpu_before) / 200 * 1000
        print(
            f"\none scrape: {size:,} bytes, {each:.2f} ms wall, {cpu:.2f} ms of server CPU "
            f"(idle server, 200 scrapes): at 1 scrape/s, {cpu / 10:.2f} % of one core"
        )


if __name__ == "__main__":
    main()
