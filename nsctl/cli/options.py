"""The options every NameServer command shares, and the decorators that register commands.

`nameserver_command` adds the common options (-n, -o, --timeout, --retries, --address-server,
--verbose, --tls, --tls-ca, --tls-insecure, --context, --access-key, --secret-key) to a command
function and hands it a `Target` instead (the options given, else the contexts and the
environment: see `_target`), so each command is written once against a ready manager and its
failures all end the same way: one line on stderr and the documented exit code (see
`failures`). The same options are the group's own too, so they may come before the command.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from nsctl import __version__
from nsctl.cli import failures
from nsctl.cli.app import GLOBALS_KEY, app
from nsctl.cli.failures import cli_errors
from nsctl.cli.mqadmin.option_names import with_mqadmin_names
from nsctl.cli.target import SETTINGS, Output, Target, target_from


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
    inspect.Parameter(
        "context",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--context",
                envvar="NSCTL_CONTEXT",
                help="Take the settings not given as options from this context of the "
                "configuration file (see 'nsctl config'), before the environment.",
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "access_key",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--access-key",
                envvar="NSCTL_ACCESS_KEY",
                help="ACL access key: every request is signed with it and --secret-key.",
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "secret_key",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--secret-key",
                envvar="NSCTL_SECRET_KEY",
                help="ACL secret key (prefer the variable: a command line is visible to "
                "other users of the host).",
                show_default=False,
            ),
        ],
    ),
]
_COMMON_NAMES = [p.name for p in _COMMON_OPTIONS]
_OUTPUT_LONG_ONLY = inspect.Parameter(
    "output",
    inspect.Parameter.KEYWORD_ONLY,
    default=Output.table,
    annotation=Annotated[
        Output,
        typer.Option(
            "--output",
            case_sensitive=False,
            help="table, json (for scripts) or plain (-o takes these too).",
        ),
    ],
)


def split_o(
    values: list[str] | None, given_output: Output, flag: str
) -> tuple[bool | None, Output]:
    """The values of a command's own `-o` that also takes the output format (mqadmin's `-o` is
    order there): (the true/false it was given, the output format)."""
    order: bool | None = None
    output = given_output
    formats = {o.value: o for o in Output}
    for raw in values or []:
        value = raw.strip().lower()
        if value in ("true", "false"):
            if order is not None:
                raise click.UsageError(f"{flag} true|false given twice; give it once")
            order = value == "true"
        elif value in formats:
            output = formats[value]
        else:
            raise click.UsageError(
                f"invalid value for -o: {raw!r} is not true, false, table, json or plain"
            )
    return order, output


def nameserver_command(
    name: str,
    *,
    aliases: tuple[str, ...] = (),
    request_timeout_flag: str = "--timeout",
    own_o: bool = False,
    group: typer.Typer | None = None,
    **settings: Any,
):
    """Register `fn(target, ...)` as command `name` (and hidden `aliases`) with the common
    options added to its own. A command whose own `--timeout` means something else (watch)
    moves the per-request timeout to `request_timeout_flag`; one whose mqadmin `-o` means
    something else (updateTopic's order) keeps only `--output` for the format (`own_o`)."""
    common = [
        _timeout_option(request_timeout_flag) if p.name == "timeout" else p for p in _COMMON_OPTIONS
    ]
    if own_o:
        common = [_OUTPUT_LONG_ONLY if p.name == "output" else p for p in common]

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]  # drop `target`
        own = with_mqadmin_names((name, *aliases), own)

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            with cli_errors():
                target = _target(kwargs)
            try:
                with cli_errors():
                    fn(target, **kwargs)
            finally:
                target.close()

        del command.__wrapped__  # Typer must see the combined signature, not fn's
        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        command.__signature__ = inspect.Signature(parameters + common)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters + common}
        on = group if group is not None else app  # `group`: a sub-command (`kv diff`)
        on.command(name, **settings)(command)
        for alias in aliases:
            on.command(alias, hidden=True, **settings)(command)
        return fn

    return register


def _target(kwargs: dict[str, Any]) -> Target:
    """The command's Target from its common options (taken out of `kwargs`): the options given
    on the command line, before or after the command, beat the contexts and the environment."""
    ctx = click.get_current_context()
    before = ctx.meta.get(GLOBALS_KEY, {})
    commandline = click.core.ParameterSource.COMMANDLINE

    def given(name: str) -> bool:
        return name in before or ctx.get_parameter_source(name) is commandline

    explicit = {}
    for name in SETTINGS:
        value = kwargs.pop(name)
        if given(name):
            explicit[name] = value.value if isinstance(value, Output) else value
    context = kwargs.pop("context")
    return target_from(
        explicit,
        verbose=kwargs.pop("verbose"),
        context=context or None,
        context_source="--context" if given("context") else "NSCTL_CONTEXT",
    )


def sub_group(name: str, help: str) -> typer.Typer:
    """A group of sub-commands (`nsctl kv diff`) with the same parsing rules as the app."""
    from nsctl.cli.app import NsctlGroup, _NsctlTyper

    group = _NsctlTyper(
        name=name,
        cls=NsctlGroup,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.add_typer(group, name=name)
    return group


def plain_command(name: str, *, group: typer.Typer | None = None, **settings: Any):
    """Register a command that does not talk to a NameServer through a Target (serve, demo;
    `group`: a sub-command such as `config view`)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            with cli_errors():
                fn(*args, **kwargs)

        (group if group is not None else app).command(name, **settings)(command)
        return fn

    return register


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nsctl {__version__}")
        raise typer.Exit()


def _global_options(**kwargs: Any) -> None:
    """Admin tool for Apache RocketMQ NameServers."""
    if kwargs["debug"]:
        failures.set_debug()
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
