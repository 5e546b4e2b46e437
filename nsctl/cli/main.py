"""Entry point: builds the app from the command modules and runs it."""

from __future__ import annotations

import gc
import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

#: Command name -> the module that defines it. Running a command imports only its module; help,
#: completion and unknown names import them all.
COMMAND_MODULES = {
    "topicRoute": "commands.topics",
    "topicList": "commands.topics",
    "topicClusterList": "commands.topics",
    "deleteTopic": "commands.topic_admin",
    "updateTopic": "commands.topic_admin",
    "updateTopicPerm": "commands.topic_admin",
    "updateSubGroup": "commands.groups",
    "deleteSubGroup": "commands.groups",
    "plan": "commands.declarative",
    "apply": "commands.declarative",
    "export": "commands.declarative",
    "updateOrderConf": "commands.topics",
    "clusterList": "commands.clusters",
    "brokerStatus": "commands.brokers",
    "topicStatus": "commands.topics",
    "wipeWritePerm": "commands.clusters",
    "addWritePerm": "commands.clusters",
    "getKV": "commands.kv",
    "putKV": "commands.kv",
    "updateKvConfig": "commands.kv",
    "deleteKV": "commands.kv",
    "deleteKvConfig": "commands.kv",
    "getKVList": "commands.kv",
    "getNamesrvConfig": "commands.namesrv",
    "updateNamesrvConfig": "commands.namesrv",
    "registerBroker": "commands.register",
    "unregisterBroker": "commands.register",
    "watch": "commands.watch",
    "check": "commands.check",
    "serve": "commands.serve",
    "demo": "commands.demo",
    "help": "commands.help",
    "kv": "commands.kv_repair",
    "config": "commands.config",
    "completion": "commands.docs",
    "man": "commands.docs",
}

#: Options of the `nsctl` group that take a value, so `nsctl -n ADDR clusterList` still finds
#: `clusterList` without building the whole app (a test keeps this in step with the group).
GLOBAL_VALUE_OPTIONS = frozenset(
    {"-n", "--namesrv", "--namesrvAddr", "-o", "--output", "--timeout", "--retries"}
    | {"--address-server", "--tls-ca", "--access-key", "--secret-key", "--context"}
)


def load_app(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the commands `argv` needs attached (all of them by default)."""
    from nsctl.cli import options  # noqa: F401  (registers the group's own options)
    from nsctl.cli.app import app

    command = _command_name(argv) if argv is not None else None
    if command and command != "help":  # help shows any command: it needs them all
        importlib.import_module(f"nsctl.cli.{COMMAND_MODULES[command]}")
        return _only(app, command)
    for module in dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(f"nsctl.cli.{module}")  # attaches its commands to `app`
    return app


def _only(app: typer.Typer, name: str) -> typer.Typer:
    """A copy of `app` holding only command `name` (`app` itself keeps them all). Typer turns
    every command it holds into a click command on each start, about 0.4 ms apiece, and a
    module defines up to five; the one being run is enough."""
    import copy

    chosen = [c for c in app.registered_commands if c.name == name]
    if not chosen:
        return app
    only = copy.copy(app)
    only.registered_commands = chosen
    only.registered_groups = []  # sub-command groups (`kv`) are built only when run
    return only


def _command_name(argv: list[str]) -> str | None:
    """The command about to run (case-insensitive, as the group matches it), skipping the
    options that may come before it; None when that is not clear (then all are loaded)."""
    folded = {name.lower(): name for name in COMMAND_MODULES}
    words = iter(argv)
    for word in words:
        if word in GLOBAL_VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return folded.get(word.lower())
    return None


def run() -> None:
    """Console-script entry point."""
    # Called as the program (from the console script or `python -m`), the process ends as soon
    # as the command is done; a caller that imported `run` keeps its interpreter.
    as_program = sys._getframe(1).f_globals.get("__name__") == "__main__"
    try:
        _run(sys.argv[1:])
    except SystemExit as done:
        if as_program:
            _exit_now(done.code)
        raise
    if as_program:
        _exit_now(None)


def _run(argv: list[str]) -> None:
    if argv == ["--version"]:
        # Scripts call this to probe for nsctl; answer without building the whole app.
        from nsctl import __version__

        print(f"nsctl {__version__}")
        return
    if argv[:1] == ["__complete"]:
        # The shell completions' live names: no Typer app, a short budget, silent on failure.
        from nsctl.cli.live_complete import main as complete

        sys.exit(complete(argv[1:]))
    # Importing and building the app makes no garbage worth collecting, only a great many
    # long-lived objects (modules, classes, functions) that the collector would walk again and
    # again, also while the command imports what it needs: a few ms. So no collection while
    # they are made, and they are frozen out of later ones (they live as long as the process);
    # the command's own objects are collected as usual.
    gc.disable()
    try:
        app = load_app(argv)
    finally:
        gc.freeze()
        gc.enable()
    sys.exit(app(prog_name="nsctl"))


def _exit_now(code: object) -> None:
    """End the process with `code` (as `sys.exit` would) without the interpreter's teardown,
    which deallocates every module and object one by one: 10-15 ms once the CLI is imported,
    as long as a whole route query otherwise takes. atexit handlers run and output is flushed,
    as on the usual way out. Returns instead (and the interpreter exits as it always does)
    whenever that could differ: a message as the exit code, a thread Python would wait for, a
    flush that fails (the interpreter then reports it, or stays quiet, as it always does)."""
    if code is None:
        code = 0
    if not isinstance(code, int) or not 0 <= code <= 255:
        return
    threading = sys.modules.get("threading")
    if threading is not None and any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    ):
        return
    if not _flushed():
        return
    import atexit
    import os

    atexit._run_exitfuncs()  # what the interpreter runs on its way out (once: it clears them)
    if _flushed():  # what the handlers printed
        os._exit(code)


def _flushed() -> bool:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return False
    return True


if __name__ == "__main__":
    run()
