"""The Typer application every command module attaches its commands to.

Kept tiny on purpose: it is imported on every start, so anything heavy (the client, asyncio,
the server, rich tables) is imported inside the command that needs it.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nsctl",
    help="Admin tool for Apache RocketMQ NameServers: query routes, clusters and KV config, "
    "act as a broker, watch changes, and run an embedded NameServer.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
