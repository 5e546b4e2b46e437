"""Runs tests/stress/atheris_fuzz.py for NSCTL_ATHERIS_RUNS inputs (default 100,000); skipped
when atheris is not installed (`.venv/bin/pip install atheris`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.robustness import report
from tests.stress.conftest import env_number

pytest.importorskip("atheris", reason="atheris is not installed (.venv/bin/pip install atheris)")

RUNS = int(env_number("NSCTL_ATHERIS_RUNS", 100_000))
SCRIPT = Path(__file__).with_name("atheris_fuzz.py")


def test_atheris_finds_no_crash(tmp_path):
    result = subprocess.run(
        [
            *(sys.executable, str(SCRIPT), f"-atheris_runs={RUNS}", "-max_len=4096"),
            str(tmp_path / "corpus"),
        ],
        capture_output=True,
        text=True,
        timeout=max(600, RUNS / 50),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    done = re.findall(r"Done (\d+) ", result.stderr)
    cov = re.findall(r"cov: (\d+)", result.stderr)
    assert done, result.stderr[-2000:]
    report.count("atheris (decoder + dispatcher)", int(done[-1]))
    report.record("atheris coverage", edges=int(cov[-1]) if cov else 0)
