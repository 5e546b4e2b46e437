"""Entry point: builds the app from the command modules and runs it."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

#: Command name -> the module that defines it. Running a command imports only its module; help,
#: completion and unknown names import them all.
COMMAND_MODULES = {
    "topicRoute": "topics",
    "topicList": "topics",
    "topicClusterList": "topics",
    "deleteTopic": "topics",
    "updateOrderConf": "topics",
    "clusterList": "cluster_list",
    "brokerStatus": "broker_status",
    "topicStatus": "topic_status",
    "wipeWritePerm": "cluster",
    "addWritePerm": "cluster",
    "getKV": "kv",
    "putKV": "kv",
    "updateKvConfig": "kv",
    "deleteKV": "kv",
    "deleteKvConfig": "kv",
    "getKVList": "kv",
    "getNamesrvConfig": "namesrv_config",
    "updateNamesrvConfig": "namesrv_config",
    "registerBroker": "brokers",
    "unregisterBroker": "brokers",
    "watch": "watch",
    "check": "check",
    "serve": "serve",
    "demo": "demo",
    "help": "help_command",
}

#: Options of the `nsctl` group that take a value, so `nsctl -n ADDR clusterList` still finds
#: `clusterList` without building the whole app (a test keeps this in step with the group).
GLOBAL_VALUE_OPTIONS = frozenset(
    {"-n", "--namesrv", "--namesrvAddr", "-o", "--output", "--timeout", "--retries"}
    | {"--address-server", "--tls-ca"}
)


def load_app(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the commands `argv` needs attached (all of them by default)."""
    from nsctl.cli import common  # noqa: F401  (registers the group's own options)
    from nsctl.cli.app import app

    command = _command_name(argv) if argv is not None else None
    if command and command != "help":  # help shows any command: it needs them all
        modules = [COMMAND_MODULES[command]]
    else:
        modules = list(dict.fromkeys(COMMAND_MODULES.values()))
    for module in modules:
        importlib.import_module(f"nsctl.cli.{module}")  # attaches its commands to `app`
    return app


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
    argv = sys.argv[1:]
    if argv == ["--version"]:
        # Scripts call this to probe for nsctl; answer without building the whole app.
        from nsctl import __version__

        print(f"nsctl {__version__}")
        return
    if argv[:1] == ["__complete"]:
        # The shell completions' live names: no Typer app, a short budget, silent on failure.
        from nsctl.cli.live_complete import main as complete

        sys.exit(complete(argv[1:]))
    sys.exit(load_app(argv)(prog_name="nsctl"))


if __name__ == "__main__":
    run()
