"""How a command ends: the exit codes, `fail` (one stderr line and a code), and the mapping
from library errors to a line and a code (`cli_errors`, `classify`), with --debug's traceback.

At the bottom of the CLI: every other module may import it, it imports nothing of the CLI's.
"""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

import click
import typer

#: Exit codes (documented in README.md and the man page).
EXIT_OK = 0
EXIT_ERROR = 1  # the NameServer answered with an error, or the thing was not found
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3  # no NameServer could be reached (or none spoke the protocol)
EXIT_EXPECTATION = 4  # an expectation was not met (check, --wait)
EXIT_DISAGREE = 5  # NameServers disagree (--each, kv diff)
EXIT_PENDING = 6  # changes pending (plan, --dry-run)
EXIT_INTERRUPTED = 130

#: Set by --debug (before or after the command): failures also print their traceback.
DEBUG = False


def set_debug() -> None:
    global DEBUG
    DEBUG = True


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """End the command: one line on stderr, exit `code`."""
    print(f"nsctl: {message}", file=sys.stderr)
    raise typer.Exit(code)


class cli_errors:
    """Turn library errors into one stderr line and an exit code (a traceback with --debug)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, tb) -> bool:
        if error is None or isinstance(error, (typer.Exit, typer.Abort, SystemExit)):
            return False
        if isinstance(error, BrokenPipeError):
            # Only stdout can raise it here (the transports wrap socket errors): its reader
            # went away, which ends the output quietly, as `head` and `grep -q` expect.
            from nsctl.cli.render import reader_went_away

            reader_went_away()
            raise typer.Exit(EXIT_OK)
        if isinstance(error, KeyboardInterrupt):
            print("nsctl: interrupted", file=sys.stderr)
            raise typer.Exit(130)
        if isinstance(error, click.UsageError):  # BadParameter raised while running
            print(f"nsctl: {error.format_message()}", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE)
        code, message = classify(error)
        if DEBUG:
            traceback.print_exception(kind, error, tb, file=sys.stderr)
        print(f"nsctl: {message}", file=sys.stderr)
        raise typer.Exit(code)


def classify(error: BaseException) -> tuple[int, str]:
    """Exit code and message for an error raised by the library."""
    from nsctl.client import errors

    text = _one_line(str(error)) or type(error).__name__
    if isinstance(error, (errors.NoNameServerAddressError, errors.NameServerUsageError)):
        return EXIT_USAGE, text
    if isinstance(error, errors.NameServerResponseError):
        return EXIT_ERROR, text
    if isinstance(
        error,
        (
            errors.NameServerConnectionError,
            errors.NameServerTimeoutError,
            errors.NameServerProtocolError,
        ),
    ):
        return EXIT_UNREACHABLE, text
    if isinstance(error, errors.NameServerError):
        return EXIT_ERROR, text
    if isinstance(error, ValueError):
        return EXIT_USAGE, text
    if isinstance(error, OSError):
        return EXIT_ERROR, f"{type(error).__name__}: {text}"
    return EXIT_ERROR, f"internal error: {type(error).__name__}: {text} (run with --debug)"


def _one_line(text: str) -> str:
    return " ".join(text.split())
