"""KV writes with `kill -9` at random moments, a few rounds (many in
tests/stress/test_kv_kill_long.py). tests/server/test_serve_process.py kills once after a fixed
number of writes; here the moment is random and the store accumulates across restarts."""

from __future__ import annotations

from tests.robustness import report
from tests.robustness.kv_kill import kill_rounds
from tests.robustness.socket_fuzz import default_seed

ROUNDS = 3


def test_acknowledged_kv_writes_survive_kill_9_at_random_moments(serve_process_factory, tmp_path):
    kills, acknowledged = kill_rounds(
        serve_process_factory, tmp_path / "kvConfig.json", ROUNDS, default_seed()
    )
    report.record("faults: KV kill -9", kills=kills, acknowledged_writes=acknowledged, lost=0)
