"""NameServer configuration commands: getNamesrvConfig, updateNamesrvConfig."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nsctl.cli.commands.each import EachOption, show_each
from nsctl.cli.fanout import report_fanout
from nsctl.cli.mqadmin.route_text import namesrv_config
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_lines, emit_table
from nsctl.cli.target import Output, Target


@nameserver_command("getNamesrvConfig", help="Show the configuration of every NameServer.")
def get_namesrv_config(target: Target, each: EachOption = False) -> None:
    if each:
        show_each(
            target,
            "Configuration of each NameServer",
            lambda client: client.get_namesrv_config(),
            dict,
        )
        return
    results = target.manager.broadcast(lambda client: client.get_namesrv_config())

    def render(configs: dict[str, dict[str, str]]) -> None:
        for address, config in configs.items():
            if target.output == Output.plain:
                emit_lines(namesrv_config(address, config))
            else:
                emit_table(address, ("Key", "Value"), sorted(config.items()))

    report_fanout(target, results, render=render, json_document=lambda configs: configs)


@nameserver_command(
    "updateNamesrvConfig",
    help="Change a runtime setting on every NameServer (e.g. -k orderMessageEnable -v true).",
)
def update_namesrv_config(
    target: Target,
    key: Annotated[str, typer.Option("-k", "--key", help="Config key.", show_default=False)],
    value: Annotated[str, typer.Option("-v", "--value", help="New value.", show_default=False)],
) -> None:

    def update(client) -> None:
        from nsctl.client.errors import NameServerError

        client.update_namesrv_config({key: value})
        # A NameServer ignores unknown keys, bad values and settings it cannot change while
        # running, and still answers success: only reading the value back tells.
        actual = client.get_namesrv_config().get(key)
        if not _same(actual, value):
            has = "has no such key" if actual is None else f"still has {actual!r}"
            raise NameServerError(f"did not take {key}={value} ({has}; see its log)")

    results = target.manager.broadcast(update)

    def render(successes: dict[str, Any]) -> None:
        if target.output == Output.plain:
            if len(successes) == len(results):
                emit_lines(
                    [
                        f"update name server config success![{', '.join(results)}]",
                        f"{key} : {value}",
                    ]
                )
        else:
            emit_lines(f"{address}: {key} = {value}" for address in successes)

    report_fanout(target, results, render=render, summary={"key": key, "value": value})


def _same(actual: str | None, wanted: str) -> bool:
    if actual is None:
        return False
    actual, wanted = actual.strip(), wanted.strip()
    if wanted.lower() in ("true", "false"):
        return actual.lower() == wanted.lower()
    return actual == wanted
