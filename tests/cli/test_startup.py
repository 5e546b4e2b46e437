"""How the CLI starts and ends: run as the program, `run()` leaves the process without the
interpreter's teardown, yet with everything a normal exit gives (exit code, flushed output,
atexit handlers, threads waited for); imported by a caller, it leaves the process alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nsctl import __version__
from nsctl.cli.main import run

VERSION = f"nsctl {__version__}\n"


def _as_program(code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`code`, then `run()` called from `__main__` as the console script calls it."""
    script = f"{code}\nimport sys\nsys.argv = ['nsctl', *{list(argv)!r}]\n"
    script += "from nsctl.cli.main import run\nsys.exit(run())\n"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


MARKER = "class Marker:\n    def __del__(self):\n        print('torn down')\nmarker = Marker()"


def test_the_interpreter_teardown_is_skipped():
    assert _as_program(MARKER, "--version").stdout == VERSION
    # the control: the same object is torn down on the usual way out
    control = subprocess.run(
        [sys.executable, "-c", MARKER], capture_output=True, text=True, timeout=60, check=False
    )
    assert control.stdout == "torn down\n"


def test_output_atexit_handlers_and_exit_code_are_kept():
    done = _as_program(
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran', flush=False))\n"
        "sys.stdout.write('unflushed ')",
        "--version",
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"unflushed {VERSION}atexit ran\n",
        "",
    )


def test_a_usage_error_keeps_its_code_and_line():
    done = _as_program("", "noSuchCommand")
    assert done.returncode == 2
    assert done.stderr.startswith("nsctl: No such command 'noSuchCommand'.")


def test_a_thread_python_waits_for_is_still_waited_for():
    done = _as_program(
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()",
        "--version",
    )
    assert (done.returncode, done.stdout) == (0, f"{VERSION}thread done\n")


def test_a_message_as_the_exit_code_is_printed_as_python_does():
    done = _as_program(
        "import nsctl.cli.main as m\nm._run = lambda argv: exec('raise SystemExit(\"bye\")')",
        "--version",
    )
    assert (done.returncode, done.stderr) == (1, "bye\n")


def test_a_caller_that_imported_run_keeps_its_interpreter(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["nsctl", "--version"])
    assert run() is None
    assert capsys.readouterr().out.startswith("nsctl ")
    monkeypatch.setattr(sys, "argv", ["nsctl", "noSuchCommand"])
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("argv", "held"),
    [
        (["-o", "json", "topicroute", "-t", "T"], ["topicRoute"]),
        (["deleteKvConfig", "-s", "ns", "-k", "k"], ["deleteKvConfig"]),
    ],
)
def test_a_command_run_is_the_only_one_built_and_the_app_keeps_them_all(argv, held):
    import typer.main

    from nsctl.cli.main import COMMAND_MODULES, load_app

    assert list(typer.main.get_command(load_app(argv)).commands) == held
    assert set(typer.main.get_command(load_app()).commands) == set(COMMAND_MODULES)
