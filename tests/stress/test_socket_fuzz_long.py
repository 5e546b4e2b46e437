"""The raw-socket fuzzer of tests/robustness for many more cases against one `nsctl serve`,
probing the canary every 10 cases. Default: up to 20,000 cases or 120 s.

    NSCTL_STRESS_CASES=200000 NSCTL_STRESS_SECONDS=1800 \
        .venv/bin/python -m pytest tests/stress/test_socket_fuzz_long.py -p no:cacheprovider
"""

from __future__ import annotations

from tests.robustness import canary, report
from tests.robustness.socket_fuzz import ESCAPED, default_seed, fuzz
from tests.stress.conftest import env_number
from tests.stress.rss import rss_kib

CASES = int(env_number("NSCTL_STRESS_CASES", 20_000))
SECONDS = env_number("NSCTL_STRESS_SECONDS", 120)


def test_live_server_survives_many_hostile_connections(serve_process_factory):
    # No expiry during the run: the canary broker stays registered however long it lasts.
    server = serve_process_factory("--broker-expire", "86400", "--idle-timeout", "86400")
    keeper = canary.install(server.address)
    rss_start = rss_kib(server.process.pid)
    try:
        seed = default_seed()
        kinds = fuzz(
            server.address,
            cases=CASES,
            seconds=SECONDS,
            seed=seed,
            probe_every=10,
            alive=lambda: server.process.poll() is None,
        )
        canary.probe(server.address)
    finally:
        keeper.close()
    assert server.process.poll() is None
    rss_end = rss_kib(server.process.pid)
    assert not [line for line in server.log_text().splitlines() if any(e in line for e in ESCAPED)]
    total = sum(kinds.values())
    report.count("live socket fuzz, long (nsctl serve)", total)
    report.record(
        "live socket fuzz, long",
        seed=str(seed),
        rss_start_mib=rss_start / 1024,
        rss_end_mib=rss_end / 1024,
        **dict(sorted(kinds.items())),
    )
