"""A few hundred hostile inputs thrown at a live `nsctl serve` over fresh connections; after
each one the server still answers the canary route and KV requests on a new connection.
The long version is tests/stress/test_socket_fuzz_long.py."""

from __future__ import annotations

from tests.robustness import canary, report
from tests.robustness.socket_fuzz import ESCAPED, default_seed, fuzz

CASES = 500


def test_live_server_survives_hostile_connections(serve_process):
    keeper = canary.install(serve_process.address)
    try:
        seed = default_seed()
        kinds = fuzz(
            serve_process.address,
            cases=CASES,
            seconds=120,
            seed=seed,
            alive=lambda: serve_process.process.poll() is None,
        )
        canary.probe(serve_process.address)
    finally:
        keeper.close()
    assert serve_process.process.poll() is None
    log = serve_process.log_text()
    assert not [line for line in log.splitlines() if any(e in line for e in ESCAPED)]
    total = sum(kinds.values())
    report.count("live socket fuzz (nsctl serve)", total)
    report.record("live socket fuzz kinds", seed=str(seed), **dict(sorted(kinds.items())))
    assert total == CASES
