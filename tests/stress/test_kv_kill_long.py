"""KV writes with `kill -9` at random moments, many rounds (3 in CI). Default: 30 rounds.

    NSCTL_KV_KILL_ROUNDS=500 .venv/bin/python -m pytest tests/stress/test_kv_kill_long.py \
        -p no:cacheprovider
"""

from __future__ import annotations

from tests.robustness import report
from tests.robustness.kv_kill import kill_rounds
from tests.robustness.socket_fuzz import default_seed
from tests.stress.conftest import env_number

ROUNDS = int(env_number("NSCTL_KV_KILL_ROUNDS", 30))


def test_acknowledged_kv_writes_survive_many_kill_9(serve_process_factory, tmp_path):
    kills, acknowledged = kill_rounds(
        serve_process_factory, tmp_path / "kvConfig.json", ROUNDS, default_seed()
    )
    report.record("KV kill -9, long", kills=kills, acknowledged_writes=acknowledged, lost=0)
