"""Every `sh` and `python` block of README.md runs as written against `nsctl serve --demo`.

Each block runs in a private network namespace (`unshare -rn`: a user and network namespace,
no privileges needed), so the README's own address, 127.0.0.1:9876, is free and belongs to this
run alone. Unless the block starts a server itself, a demo server is started there first and
NAMESRV_ADDR set, as a reader following the README would have. HOME is a temporary directory
(the server keeps its KV store under it). A block whose first line is `# not run: REASON` is
skipped, for the reason it gives.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.S | re.M)
NOT_RUN = "# not run: "

PRELUDE = """\
set -eo pipefail
ip link set lo up
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
"""
DEMO_SERVER = """\
nsctl serve --demo > "$HOME/serve.out" 2>&1 &
for _ in $(seq 200); do
    grep -q '^Demo cluster' "$HOME/serve.out" && break
    sleep 0.1
done
grep -q '^Demo cluster' "$HOME/serve.out" || { cat "$HOME/serve.out" >&2; exit 97; }
export NAMESRV_ADDR=127.0.0.1:9876
"""


def blocks() -> list:
    found = []
    text = README.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        language, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        marks = []
        if body.startswith(NOT_RUN):
            reason = body.splitlines()[0][len(NOT_RUN) :]
            marks.append(pytest.mark.skip(reason=f"README says: not run: {reason}"))
        found.append(pytest.param(language, body, id=f"{language}-line-{line}", marks=marks))
    return found


def namespaces_work() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not namespaces_work(), reason="needs `unshare -rn` (user and network namespaces) and `ip`"
)


def test_readme_has_runnable_blocks_of_both_kinds():
    runnable = [p.values[0] for p in blocks() if not p.marks]
    assert runnable.count("sh") >= 2 and runnable.count("python") >= 5


@pytest.mark.parametrize(("language", "body"), blocks())
def test_readme_block_runs_as_written(language, body, tmp_path):
    bin_dir = os.path.dirname(sys.executable)
    env = {
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    script = PRELUDE
    if "nsctl serve" not in body:
        script += DEMO_SERVER
    if language == "sh":
        script += body
    else:
        (tmp_path / "example.py").write_text(body, encoding="utf-8")
        script += f'"{sys.executable}" "{tmp_path / "example.py"}"\n'
    result = subprocess.run(
        ["unshare", "-rn", "bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    report = textwrap.indent(
        f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}", "  "
    )
    assert result.returncode == 0, report
    assert "Traceback" not in result.stderr, report
