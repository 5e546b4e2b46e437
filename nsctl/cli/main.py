"""Entry point: builds the app from the command modules and runs it."""

from __future__ import annotations

import sys

# Each import attaches that module's commands to `app`.
from nsctl.cli import serve as _serve  # noqa: F401
from nsctl.cli.app import app


def run() -> None:
    """Console-script entry point."""
    sys.exit(app(standalone_mode=True))
