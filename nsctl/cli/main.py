"""Entry point: builds the app from the command modules and runs it."""

from __future__ import annotations

import sys

from nsctl.cli import (  # noqa: F401  (each import attaches its commands to `app`)
    brokers,
    cluster,
    demo,
    kv,
    namesrv_config,
    serve,
    topics,
)
from nsctl.cli.app import app


def run() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    run()
