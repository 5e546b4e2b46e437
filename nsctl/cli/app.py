"""The Typer application every command module attaches its commands to, and the parsing rules
every command shares (mqadmin habits).

Kept tiny on purpose: it is imported on every start, so anything heavy (the client, asyncio,
the server, rich tables) is imported inside the command that needs it.

The rules, each applied once here so every command follows them:
- command names match case-insensitively, as mqadmin's do (`nsctl clusterlist`); help and
  usage lines show the canonical name;
- a single-valued option given twice (`-t A -t B`) is a usage error, not "the last one wins";
- the common options may come before the command (`nsctl -n ADDR clusterList`); given in both
  places, the one after the command wins (the one before is a default for the command);
- usage errors are one line on stderr, exit 2;
- `nsctl --help` shows each command's first sentence whole, never cut.
"""

from __future__ import annotations

import sys
from collections import Counter
from difflib import get_close_matches
from typing import Any

import click
import typer
from click.core import ParameterSource
from typer.core import TyperCommand, TyperGroup

from nsctl.cli import failures

#: ctx.meta key holding the common options given before the command: name -> (value, flag).
GLOBALS_KEY = "nsctl.globals"


class OneLineUsageError(click.UsageError):
    """A usage error shown as one stderr line (click's own takes three)."""

    def show(self, file: Any = None) -> None:
        hint = ""
        if self.ctx is not None and self.ctx.command.get_help_option(self.ctx) is not None:
            hint = f" (see '{self.ctx.command_path} --help')"
        print(f"nsctl: {self.format_message()}{hint}", file=file or sys.stderr)


class _OneLineErrors:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, tb) -> bool:
        if isinstance(error, click.UsageError) and not isinstance(
            error, (OneLineUsageError, click.exceptions.NoArgsIsHelpError)
        ):
            raise OneLineUsageError(error.format_message(), error.ctx) from None
        return False


def _refuse_repeated_options(command: click.Command, ctx: click.Context, args: list[str]) -> None:
    """Parse once more only to count: click keeps the last of a repeated option silently."""
    if ctx.resilient_parsing:
        return
    _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    counts = Counter(
        p for p in order if isinstance(p, click.Option) and not (p.multiple or p.count or p.is_flag)
    )
    for param, times in counts.items():
        if times > 1:
            names = "/".join(param.opts)
            raise click.UsageError(f"{names} given {times} times; give it once", ctx)


def _apply_global_options(command: click.Command, ctx: click.Context) -> None:
    """Common options given before the command become this command's, unless it got its own."""
    if ctx.resilient_parsing:
        return
    for name, (value, flag) in ctx.meta.get(GLOBALS_KEY, {}).items():
        if name not in ctx.params:
            raise click.UsageError(f"{flag} does not apply to {command.name}", ctx)
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            ctx.params[name] = value


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        failures.set_debug()


class NsctlCommand(TyperCommand):
    """Every nsctl command: the shared parsing rules, and --debug after the command too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "debug" for p in self.params):
            self.params.append(
                click.Option(
                    ["--debug"],
                    is_flag=True,
                    expose_value=False,
                    callback=_set_debug,
                    help="Show tracebacks of failures.",
                )
            )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _refuse_repeated_options(self, ctx, args)
        rest = super().parse_args(ctx, args)
        _apply_global_options(self, ctx)
        return rest


def summary(command: click.Command) -> str:
    """The line `nsctl --help` shows: the short help, else the help's first sentence, whole.
    A long first sentence is cut at its first clause boundary outside parentheses."""
    if command.short_help:
        return " ".join(command.short_help.split())
    text = " ".join((command.help or "").split())
    depth = 0
    clause = None
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        nxt = text[i + 1 : i + 2]
        if (
            depth == 0
            and char == "."
            and nxt in ("", " ")
            and not text[:i].endswith(("e.g", "i.e"))
        ):
            text = text[: i + 1]
            break
        if depth == 0 and char in ":;" and nxt == " " and clause is None:
            clause = i
    if len(text) > 80 and clause is not None and clause >= 20:
        text = text[:clause] + "."
    return text


class NsctlGroup(TyperGroup):
    """The `nsctl` group: case-insensitive command names, one suggestion line, whole summaries."""

    def __init__(self, **attrs: Any) -> None:
        attrs["suggest_commands"] = False  # click suggests already; once is enough
        super().__init__(**attrs)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _OneLineErrors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _OneLineErrors():
            return super().invoke(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _refuse_repeated_options(self, ctx, args)
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            folded = {name.lower(): name for name in self.commands}
            command = self.commands.get(folded.get(cmd_name.lower(), ""))
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            name, command, rest = click.Group.resolve_command(self, ctx, args)
        except click.exceptions.NoSuchCommand as error:
            visible = [n for n, c in self.commands.items() if not c.hidden]
            folded = {n.lower(): n for n in visible}
            matches = get_close_matches(error.command_name.lower(), list(folded), n=3)
            message = f"No such command {error.command_name!r}."
            if matches:
                message += " Did you mean " + ", ".join(repr(folded[m]) for m in matches) + "?"
            raise click.UsageError(message, ctx) from None
        return (command.name if command is not None else name), command, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _NsctlTyper(typer.Typer):
    """Every command registered on `app` is an NsctlCommand, whoever registers it."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or NsctlCommand, **kwargs)


app = _NsctlTyper(
    name="nsctl",
    cls=NsctlGroup,
    help="Admin tool for Apache RocketMQ NameServers: query routes, clusters and KV config, "
    "act as a broker, and run an embedded NameServer. Command names and option letters "
    "follow mqadmin (matched case-insensitively).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
