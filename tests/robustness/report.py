"""Figures of the robustness and stress runs: counted during the session, printed at its end.

Tests call `record("name", cases=..., ...)`; the conftest of tests/robustness and tests/stress
hooks `pytest_terminal_summary` so the lines show without `-s`, e.g.::

    robustness: dispatcher fuzz: 1,200 cases
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

_figures: dict[str, dict[str, Any]] = defaultdict(dict)
_counts: dict[str, int] = defaultdict(int)


def count(name: str, cases: int = 1) -> None:
    """Add `cases` to the case counter `name` (hypothesis examples, socket cases, ...)."""
    _counts[name] += cases


def record(name: str, **figures: Any) -> None:
    """Keep figures (throughput, latencies, RSS, ...) of one test, printed at the end."""
    _figures[name].update(figures)
    print(f"{name}: {_format(figures)}")


def _format(figures: dict[str, Any]) -> str:
    parts = []
    for key, value in figures.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:,.2f}")
        elif isinstance(value, int):
            parts.append(f"{key}={value:,}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _counts and not _figures:
        return
    terminalreporter.section("robustness figures")
    for name, cases in sorted(_counts.items()):
        terminalreporter.write_line(f"{name}: {cases:,} cases")
    for name, figures in sorted(_figures.items()):
        terminalreporter.write_line(f"{name}: {_format(figures)}")
