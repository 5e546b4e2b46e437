"""Long robustness runs (not collected by default: pyproject's norecursedirs excludes this
directory). Run them with

    .venv/bin/python -m pytest tests/stress -p no:cacheprovider

Each test is bounded by default (see README, "Reliability"); environment variables make them
longer: NSCTL_STRESS_EXAMPLES, NSCTL_STRESS_CASES, NSCTL_STRESS_SECONDS, NSCTL_LOAD_CLIENTS,
NSCTL_LOAD_BROKERS, NSCTL_LOAD_SECONDS, NSCTL_SOAK_SECONDS, NSCTL_KV_KILL_ROUNDS,
NSCTL_ATHERIS_RUNS, NSCTL_FUZZ_SEED."""

from __future__ import annotations

import os

from tests.robustness.report import pytest_terminal_summary  # noqa: F401 - the hook


def env_number(name: str, default: float) -> float:
    """A positive number from the environment, or `default`."""
    raw = os.environ.get(name)
    if not raw:
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {raw!r}")
    return value
