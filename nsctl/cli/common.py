"""What every NameServer command shares: its options, the target it talks to, error handling.

`nameserver_command` adds the common options (-n, -o, --timeout, --retries, --address-server,
--verbose, --tls, --tls-ca, --tls-insecure) to a command function and hands it a `Target`
instead, so each command is written once against a ready manager and its failures all end the
same way: one line on stderr and the documented exit code.
"""

from __future__ import annotations

import enum
import functools
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import click
import typer

from nsctl import __version__
from nsctl.cli.app import GLOBALS_KEY, app

if TYPE_CHECKING:
    from ssl import SSLContext

    from nsctl.client import NameServerManager

#: Exit codes (documented in README.md and the man page).
EXIT_OK = 0
EXIT_ERROR = 1  # the NameServer answered with an error, or the thing was not found
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3  # no NameServer could be reached (or none spoke the protocol)
EXIT_EXPECTATION = 4  # a health expectation was not met

#: Set by the global --debug option.
DEBUG = False


class Output(str, enum.Enum):
    table = "table"
    json = "json"
    plain = "plain"


@dataclass
class Target:
    """The NameServers a command talks to, and how."""

    namesrv: str | None
    output: Output
    timeout: float
    retries: int
    address_server: str | None
    verbose: bool
    tls: bool = False
    tls_ca: Path | None = None
    tls_insecure: bool = False
    _manager: NameServerManager | None = field(default=None, repr=False)
    #: Set once `addresses` came from an address server (long-running commands ask it again).
    address_server_url: str | None = field(default=None, repr=False)

    @functools.cached_property
    def ssl_context(self) -> SSLContext | None:
        """None for plaintext; `ssl` is imported only when TLS is asked for."""
        if not (self.tls or self.tls_ca or self.tls_insecure):
            return None
        from nsctl.client.tls import client_context

        return client_context(ca_file=self.tls_ca, insecure=self.tls_insecure)

    @functools.cached_property
    def addresses(self) -> list[str]:
        from nsctl.client.discovery import resolve_addresses

        resolved = resolve_addresses(
            self.namesrv, address_server_url=self.address_server, timeout=self.timeout
        )
        if self.verbose:
            addresses = ";".join(resolved.addresses)
            print(f"nsctl: NameServers {addresses} (from {resolved.source})", file=sys.stderr)
        self.address_server_url = resolved.url
        return resolved.addresses

    @property
    def manager(self) -> NameServerManager:
        if self._manager is None:
            from nsctl.client import NameServerConfig, NameServerManager

            self._manager = NameServerManager(
                NameServerConfig(
                    nameserver_addrs=self.addresses,
                    timeout=self.timeout,
                    connect_timeout=self.timeout,
                    max_retry_times=self.retries + 1,
                    retry_interval=0.2,
                    ssl_context=self.ssl_context,
                )
            )
            self._manager.start()
        return self._manager

    def close(self) -> None:
        if self._manager is not None:
            self._manager.stop()
            self._manager = None


def _timeout_option(flag: str) -> inspect.Parameter:
    return inspect.Parameter(
        "timeout",
        inspect.Parameter.KEYWORD_ONLY,
        default=3.0,
        annotation=Annotated[
            float, typer.Option(flag, min=0.01, help="Seconds to wait for each request.")
        ],
    )


_COMMON_OPTIONS = [
    inspect.Parameter(
        "namesrv",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "-n",
                "--namesrv",
                "--namesrvAddr",
                help="NameServer addresses, 'host:port;host:port' (',' works too). "
                "Default: $NAMESRV_ADDR, then the address server.",
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "output",
        inspect.Parameter.KEYWORD_ONLY,
        default=Output.table,
        annotation=Annotated[
            Output,
            typer.Option(
                "-o", "--output", case_sensitive=False, help="table, json (for scripts) or plain."
            ),
        ],
    ),
    _timeout_option("--timeout"),
    inspect.Parameter(
        "retries",
        inspect.Parameter.KEYWORD_ONLY,
        default=1,
        annotation=Annotated[
            int,
            typer.Option(
                "--retries",
                min=0,
                help="Retries after the first attempt when a NameServer cannot be reached or "
                "times out (0: try once). A retry goes over the NameServer list again; commands "
                "that write to every NameServer retry each one on its own.",
            ),
        ],
    ),
    inspect.Parameter(
        "address_server",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--address-server",
                envvar="NSCTL_ADDRESS_SERVER_URL",
                help="URL of an HTTP address server answering 'host:port;host:port'.",
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "verbose",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option("--verbose", help="Say which NameServers are used and why."),
        ],
    ),
    inspect.Parameter(
        "tls",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--tls", help="Connect with TLS, verifying the server against the system's CAs."
            ),
        ],
    ),
    inspect.Parameter(
        "tls_ca",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None,
            typer.Option(
                "--tls-ca",
                help="Verify the server's certificate against this PEM CA file (implies --tls).",
                exists=True,
                dir_okay=False,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "tls_insecure",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--tls-insecure",
                help="TLS without verifying the server at all, for self-signed test clusters "
                "(implies --tls).",
            ),
        ],
    ),
]
_COMMON_NAMES = [p.name for p in _COMMON_OPTIONS]


def nameserver_command(
    name: str,
    *,
    aliases: tuple[str, ...] = (),
    request_timeout_flag: str = "--timeout",
    **settings: Any,
):
    """Register `fn(target, ...)` as command `name` (and hidden `aliases`) with the common
    options added to its own. A command whose own `--timeout` means something else (watch)
    moves the per-request timeout to `request_timeout_flag`."""
    common = [
        _timeout_option(request_timeout_flag) if p.name == "timeout" else p for p in _COMMON_OPTIONS
    ]

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]  # drop `target`

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            target = Target(**{key: kwargs.pop(key) for key in _COMMON_NAMES})
            try:
                with cli_errors():
                    fn(target, **kwargs)
            finally:
                target.close()

        del command.__wrapped__  # Typer must see the combined signature, not fn's
        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        command.__signature__ = inspect.Signature(parameters + common)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters + common}
        app.command(name, **settings)(command)
        for alias in aliases:
            app.command(alias, hidden=True, **settings)(command)
        return fn

    return register


def plain_command(name: str, **settings: Any):
    """Register a command that does not talk to a NameServer through a Target (serve, demo)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            with cli_errors():
                fn(*args, **kwargs)

        app.command(name, **settings)(command)
        return fn

    return register


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nsctl {__version__}")
        raise typer.Exit()


def _global_options(**kwargs: Any) -> None:
    """Admin tool for Apache RocketMQ NameServers."""
    global DEBUG
    DEBUG = DEBUG or kwargs["debug"]
    ctx = click.get_current_context()
    given = {}
    for param in ctx.command.params:
        if param.name in _COMMON_NAMES:
            source = ctx.get_parameter_source(param.name)
            if source is click.core.ParameterSource.COMMANDLINE:
                given[param.name] = (ctx.params[param.name], "/".join(param.opts))
    ctx.meta[GLOBALS_KEY] = given


_global_options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(
            "version",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[
                bool,
                typer.Option(
                    "--version",
                    callback=_print_version,
                    is_eager=True,
                    help="Print the version and exit.",
                ),
            ],
        ),
        inspect.Parameter(
            "debug",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[
                bool,
                typer.Option("--debug", envvar="NSCTL_DEBUG", help="Show tracebacks of failures."),
            ],
        ),
        *_COMMON_OPTIONS,
    ]
)
_global_options.__annotations__ = {
    p.name: p.annotation
    for p in _global_options.__signature__.parameters.values()  # type: ignore[attr-defined]
}
# The common options work before the command too (`nsctl -n ADDR clusterList`); the command's
# own, when also given, wins (see nsctl.cli.app).
app.callback()(_global_options)


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
    if isinstance(error, errors.NoNameServerAddressError):
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
