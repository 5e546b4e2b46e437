"""What a wheel carries: installed from a wheel (as most users install nsctl), without a
checkout, `nsctl completion SHELL` and `nsctl man` print the same text as the checked-in files,
`python -m nsctl` runs, and the library ships `py.typed`.

The wheel is built from this checkout with `--no-build-isolation` (the test venv's setuptools),
and installed without its dependencies into a fresh venv that sees the test venv's packages
through a .pth file: no network.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The fresh venv's bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("nsctl-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    fresh_site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    # The dependencies (typer, rich, ...) come from the test venv, not from an index.
    (fresh_site / "test-venv-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    with zipfile.ZipFile(wheel) as archive:
        assert "nsctl/py.typed" in archive.namelist()
    return venv / "bin"


def run(bin_dir: Path, *argv: str) -> subprocess.CompletedProcess:
    # From a folder without the checkout, so nothing but the installed package is found.
    return subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]],
        capture_output=True, text=True, timeout=60, cwd="/", check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("shell", "checked_in"),
    [("bash", "nsctl.bash"), ("zsh", "_nsctl"), ("fish", "nsctl.fish")],
)
def test_the_installed_completion_is_the_checked_in_one(installed, shell, checked_in):
    done = run(installed, "nsctl", "completion", shell)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "completions" / checked_in).read_text()


def test_the_bash_completion_parses(installed):
    script = run(installed, "nsctl", "completion", "bash").stdout
    check = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_the_installed_man_page_is_the_checked_in_one(installed):
    done = run(installed, "nsctl", "man")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "man" / "nsctl.1").read_text()


def test_python_m_nsctl_and_the_package_location(installed):
    done = run(installed, "python", "-m", "nsctl", "--version")
    assert done.returncode == 0 and done.stdout.startswith("nsctl "), done.stderr
    where = run(installed, "python", "-c", "import nsctl, pathlib; print(nsctl.__file__)")
    assert str(ROOT) not in where.stdout  # the installed copy, not the checkout
