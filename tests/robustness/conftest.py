"""Robustness tests: fuzzing, faults and a load smoke test, sized for CI (see README,
"Reliability"). Their figures (cases run, throughput, latencies) are printed at the end."""

from tests.robustness.report import pytest_terminal_summary  # noqa: F401 - the hook
