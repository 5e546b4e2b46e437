"""Entry point: builds the app from the command modules and runs it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


def load_app() -> typer.Typer:
    """The Typer app with every command attached (each module import attaches its own)."""
    from nsctl.cli import (  # noqa: F401
        brokers,
        check,
        cluster,
        demo,
        kv,
        namesrv_config,
        serve,
        topics,
        watch,
    )
    from nsctl.cli.app import app

    return app


def run() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        # Scripts call this to probe for nsctl; answer without building the whole app.
        from nsctl import __version__

        print(f"nsctl {__version__}")
        return
    sys.exit(load_app()())


if __name__ == "__main__":
    run()
