"""`nsctl help [COMMAND]`: mqadmin's way of asking for help."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from nsctl.cli.options import plain_command


@plain_command("help", help="Show the help of a command (nsctl help topicRoute), or the list.")
def help_(
    command: Annotated[
        str | None, typer.Argument(help="Command name (any case).", show_default=False)
    ] = None,
) -> None:
    group_ctx = click.get_current_context().find_root()
    group = group_ctx.command
    if command is None:
        click.echo(group.get_help(group_ctx))
        return
    try:
        name, found, _ = group.resolve_command(group_ctx, [command])
    except click.UsageError as error:
        from nsctl.cli.failures import EXIT_USAGE, fail

        fail(f"{error.format_message()} (see 'nsctl help' for the commands)", EXIT_USAGE)
    assert found is not None
    with found.make_context(name, [], parent=group_ctx, resilient_parsing=True) as ctx:
        click.echo(found.get_help(ctx))
