"""pyproject's requires-python and classifiers name exactly the Pythons CI runs the suite on."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_classifiers_and_requires_python_match_ci():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    classified = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    loop = re.search(r"^for version in (.+); do$", ci, re.M)
    assert loop, "the .ci/run loop over Python versions"
    in_ci = {v.rsplit(".", 1)[0] for v in loop.group(1).split()}
    default = "3.11"  # the machine's python3, which runs the README command first
    assert classified == in_ci | {default}
    lowest = min(classified, key=lambda v: tuple(map(int, v.split("."))))
    assert re.search(rf'^requires-python = ">={re.escape(lowest)}"$', pyproject, re.M)
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in classified
