"""The Typer application every command module attaches its commands to.

Kept tiny on purpose: it is imported on every start, so anything heavy (the client, asyncio,
the server, rich tables) is imported inside the command that needs it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nsctl import __version__

app = typer.Typer(
    name="nsctl",
    help="Admin tool for Apache RocketMQ NameServers: query routes, clusters and KV config, "
    "act as a broker, and run an embedded NameServer. Command names and option letters "
    "follow mqadmin.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nsctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="NSCTL_DEBUG", help="Show tracebacks of failures."),
    ] = False,
) -> None:
    """Admin tool for Apache RocketMQ NameServers."""
    from nsctl.cli import common

    common.DEBUG = debug
