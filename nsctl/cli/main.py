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
}

#: Options of the `nsctl` group that take a value, so `nsctl -n ADDR clusterList` still finds
#: `clusterList` without building the whole app (a test keeps this in step with the group).
GLOBAL_VALUE_OPTIONS = frozenset(
    {"-n", "--namesrv", "--namesrvAddr", "-o", "--output", "--timeout", "--retries"}
    | {"--address-server", "--tls-ca", "--access-key", "--secret-key"}
)


def load_app(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the commands `argv` needs attached (all of them by default)."""
    from nsctl.cli import options  # noqa: F401  (registers the group's own options)
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
