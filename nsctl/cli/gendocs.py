"""Generate the shell completions and the man page from the Typer app.

Run `python -m nsctl.cli.gendocs` after changing a command or option; a test fails while the
checked-in files under completions/ and man/ differ from what this produces.
"""

from __future__ import annotations

import enum
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import typer.main

from nsctl import __version__
from nsctl.cli.app import summary
from nsctl.cli.main import load_app

ROOT = Path(__file__).resolve().parents[2]


#: Option names (param names) whose values are names on the live NameServer: the completions
#: ask `nsctl __complete KIND` for them (see nsctl.cli.live_complete).
LIVE_VALUES = {
    "topic": "topics",
    "topics": "topics",
    "cluster": "clusters",
    "expect_cluster": "clusters",
    "route_of": "clusters",
    "broker_name": "brokers",
    "group": "groups",
    "namespace": "namespaces",
    "namespaces": "namespaces",
    "context": "contexts",
}
#: (group, argument name) -> kind of name a sub-command's argument takes.
LIVE_ARGUMENTS = {("config", "name"): "contexts"}


@dataclass(frozen=True)
class OptionDoc:
    names: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]  # values to offer, when there is a fixed list
    metavar: str
    default: str | None = None  # as shown in the man page, None when there is none to show
    live: str | None = None  # kind of name completed from the live NameServer
    files: bool = False  # the value is a path
    repeatable: bool = False


@dataclass(frozen=True)
class CommandDoc:
    name: str
    help: str  # the summary `nsctl --help` shows
    options: tuple[OptionDoc, ...]
    alias_of: str | None = None
    description: str = ""  # the whole help text
    subcommands: tuple[CommandDoc, ...] = ()  # a group's (`kv diff`, `config view`)
    argument_live: str | None = None  # kind of name its argument takes (`use-context NAME`)


def collect() -> tuple[tuple[OptionDoc, ...], tuple[CommandDoc, ...]]:
    """Global options, and the commands with their aliases (mqadmin's other names for the same
    command) sorted by name, as click sees them."""
    group = typer.main.get_command(load_app())
    ctx = group.make_context("nsctl", ["--help"], resilient_parsing=True)
    global_options = tuple(_options(group, ctx))

    def function(command) -> object:  # what Typer wrapped: the same for a command and alias
        return getattr(command.callback, "__wrapped__", command.callback)

    visible = {function(c): n for n, c in group.commands.items() if not c.hidden}
    commands = []
    for name in sorted(group.list_commands(ctx), key=str.lower):
        command = group.get_command(ctx, name)
        alias_of = visible.get(function(command)) if command.hidden else None
        if command.hidden and alias_of is None:
            continue
        sub = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        commands.append(
            CommandDoc(
                name,
                summary(command),
                tuple(_options(command, sub)),
                alias_of,
                " ".join((command.help or "").split()),
                _subcommands(name, command, sub),
            )
        )
    return global_options, tuple(commands)


def _subcommands(group_name: str, group, ctx) -> tuple[CommandDoc, ...]:
    if not isinstance(group, click.Group):
        return ()
    found = []
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        arguments = [p.name for p in command.params if p.param_type_name == "argument"]
        found.append(
            CommandDoc(
                name,
                summary(command),
                tuple(_options(command, sub)),
                description=" ".join((command.help or "").split()),
                argument_live=next(
                    (LIVE_ARGUMENTS[(group_name, a)] for a in arguments
                     if (group_name, a) in LIVE_ARGUMENTS),
                    None,
                ),
            )
        )  # fmt: skip
    return tuple(found)


def _options(command, ctx):
    for param in command.get_params(ctx):
        if param.param_type_name != "option" or param.hidden:
            continue
        names = tuple(param.opts) + tuple(param.secondary_opts)
        files = isinstance(param.type, (click.Path, click.File))
        values = () if param.is_flag or files else param.shell_complete(ctx, "")
        yield OptionDoc(
            names,
            " ".join((param.help or "").split()),
            not param.is_flag,
            tuple(item.value for item in values if item.type == "plain"),
            "" if param.is_flag else _metavar(param),
            _default(param),
            None if param.is_flag else LIVE_VALUES.get(param.name),
            files,
            bool(param.multiple),
        )


def _metavar(param) -> str:
    """A name for the value a person understands (click's would be `FLOAT RANGE`)."""
    if param.metavar:
        return param.metavar
    kind = param.type
    if isinstance(kind, click.Choice):
        return "|".join(str(c) for c in kind.choices)
    if isinstance(kind, (click.Path, click.File)):
        return "FILE"
    if isinstance(kind, (click.types.FloatParamType, click.types.IntParamType)):
        if "second" in (param.help or "").lower():
            return "SECONDS"
        return "N" if isinstance(kind, click.types.IntParamType) else "NUMBER"
    longest = max(param.opts, key=len).lstrip("-")
    return re.sub(r"(?<=[a-z])(?=[A-Z])|-", "_", longest).upper()


def _default(param) -> str | None:
    """The default worth showing: None for flags that are off and options without one."""
    value = param.default
    if param.is_flag or param.show_default is False or value is None or value == ():
        return None
    if not isinstance(value, (str, int, float, enum.Enum)):
        return None  # click's unset sentinel and the like
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _value_options_of(options) -> list[OptionDoc]:
    return [o for o in options if o.takes_value]


def _global_value_names(global_options) -> str:
    return "|".join(n for o in _value_options_of(global_options) for n in o.names)


def _bash_value_cases(options, indent: str) -> list[str]:
    lines = []
    for option in _value_options_of(options):
        pattern = "|".join(option.names)
        if option.live:
            action = f"_nsctl_live {option.live}"
        elif option.choices:
            action = f'_nsctl_offer "{" ".join(option.choices)}"'
        elif option.files:
            action = "compopt -o default; COMPREPLY=()"
        else:
            action = "COMPREPLY=()"
        lines.append(f"{indent}{pattern}) {action}; return 0 ;;")
    return lines


def _bash_group(group: CommandDoc) -> list[str]:
    """The case of a group (`nsctl config <TAB>`): its sub-commands, then each one's options."""
    subs = group.subcommands
    values = sorted({n for c in subs for o in _value_options_of(c.options) for n in o.names})
    lines = [
        "            local sub='' j",
        "            for ((j = i + 1; j < COMP_CWORD; j++)); do",
        '                case "${COMP_WORDS[j]}" in',
    ]
    if values:
        lines.append(f"                    {'|'.join(values)}) ((j++)) ;;")
    lines += [
        "                    -*) ;;",
        '                    *) sub="${COMP_WORDS[j]}"; break ;;',
        "                esac",
        "            done",
        '            case "${sub,,}" in',
    ]
    for command in subs:
        words = " ".join(n for o in command.options for n in o.names)
        lines.append(f"                {command.name.lower()})")
        lines.append('                    case "$prev" in')
        lines += _bash_value_cases(command.options, "                        ")
        lines.append("                    esac")
        if command.argument_live:
            lines.append(
                f'                    [[ $prev == "$sub" && $cur != -* ]] && '
                f"{{ _nsctl_live {command.argument_live}; return 0; }}"
            )
        lines.append(f'                    _nsctl_offer "{words}" ;;')
    own = " ".join([c.name for c in subs] + [n for o in group.options for n in o.names])
    lines += [f'                *) _nsctl_offer "{own}" ;;', "            esac ;;"]
    return lines


def bash(global_options, commands) -> str:
    lines = [
        "# bash completion for nsctl (generated by `python -m nsctl.cli.gendocs`; do not edit)",
        "# Needs bash 4. Topic, cluster, broker and namespace names come from the NameServer",
        "# given by -n on the line or NAMESRV_ADDR (`nsctl __complete`, silent when unreachable).",
        "_nsctl_live() {",
        '    local words=("${COMP_WORDS[@]:1:COMP_CWORD-1}")',
        "    local IFS=$'\\n'",
        '    COMPREPLY=($(compgen -W "$(nsctl __complete "$1" "${words[@]}" 2>/dev/null)" \\',
        '        -- "$cur"))',
        "}",
        "_nsctl_offer() {  # the words matching $cur in any case, as nsctl matches commands",
        "    local word",
        "    COMPREPLY=()",
        "    for word in $1; do",
        '        [[ "${word,,}" == "${cur,,}"* ]] && COMPREPLY+=("$word")',
        "    done",
        "}",
        "_nsctl() {",
        "    local cur prev cmd i",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    cmd=''",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        f"            {_global_value_names(global_options)}) ((i++)) ;;",
        "            -*) ;;",
        '            *) cmd="${COMP_WORDS[i]}"; break ;;',
        "        esac",
        "    done",
        '    case "${cmd,,}" in',
    ]
    names = " ".join(c.name for c in commands)
    for command in commands:
        words = " ".join(n for o in command.options for n in o.names)
        if command.name == "help":  # `nsctl help <TAB>`: the commands
            words = f"{names} {words}"
        lines.append(f"        {command.name.lower()})")
        if command.subcommands:
            lines += _bash_group(command)
            continue
        lines.append('            case "$prev" in')
        lines += _bash_value_cases(command.options, "                ")
        lines.append("            esac")
        lines.append(f'            _nsctl_offer "{words}" ;;')
    top = " ".join([c.name for c in commands] + [n for o in global_options for n in o.names])
    lines += [
        "        *)",
        '            case "$prev" in',
        *_bash_value_cases(global_options, "                "),
        "            esac",
        f'            _nsctl_offer "{top}" ;;',
        "    esac",
        "}",
        "complete -F _nsctl nsctl",
        "",
    ]
    return "\n".join(lines)


def _zsh_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("'", "'\\''")
        .replace("[", "\\[")
        .replace("]", "\\]")
        .replace(":", "\\:")
    )


def _zsh_specs(options) -> str:
    specs = []
    for option in options:
        value = ""
        if option.takes_value:
            label = option.metavar.lower() or "value"
            if option.live:
                action = f"_nsctl_live {option.live}"
            elif option.choices:
                action = "(" + " ".join(_zsh_escape(c) for c in option.choices) + ")"
            elif option.files:
                action = "_files"
            else:
                action = " "
            value = f":{_zsh_escape(label)}:{action}"
        repeat = "*" if option.repeatable else ""
        for name in option.names:
            specs.append(f"'{repeat}{name}[{_zsh_escape(_short(option.help))}]{value}'")
    return " ".join(specs)


def _short(text: str, limit: int = 70) -> str:
    """A description cut at a word boundary, for completion menus."""
    if len(text) <= limit:
        return text
    return text[: text.rfind(" ", 0, limit - 3)].rstrip(",;:") + "..."


def _zsh_group(group: CommandDoc) -> list[str]:
    """A group's case: its sub-commands at the first word, then the sub-command's options."""
    subs = " ".join(f"'{c.name}:{_zsh_escape(_short(c.help))}'" for c in group.subcommands)
    lines = [
        f"        {group.name.lower()})",
        "            if (( CURRENT == 2 )); then",
        f"                local -a subs; subs=({subs})",
        f"                _describe -t commands '{group.name} command' subs",
        "                return",
        "            fi",
        "            words=(${words[2,-1]})",
        "            (( CURRENT -= 1 ))",
        "            case ${(L)words[1]} in",
    ]
    for command in group.subcommands:
        specs = _zsh_specs(command.options)
        if command.argument_live:
            specs += f" '1:name:_nsctl_live {command.argument_live}'"
        lines.append(f"                {command.name.lower()}) _arguments {specs} ;;")
    lines += ["            esac ;;"]
    return lines


def zsh(global_options, commands) -> str:
    lines = [
        "#compdef nsctl",
        "# zsh completion for nsctl (generated by `python -m nsctl.cli.gendocs`; do not edit)",
        "# Topic, cluster, broker and namespace names come from the NameServer given by -n on",
        "# the line or NAMESRV_ADDR (`nsctl __complete`, silent when unreachable).",
        "_nsctl_live() {",
        "    local -a names",
        '    names=(${(f)"$(nsctl __complete $1 ${line_words[@]} 2>/dev/null)"})',
        "    compadd -a names",
        "}",
        "_nsctl() {",
        "    local -a commands line_words",
        "    local i cmd_index=0",
        "    line_words=(${words[2,CURRENT-1]})",
        "    commands=(",
    ]
    for command in commands:
        lines.append(f"        '{command.name}:{_zsh_escape(_short(command.help))}'")
    lines += [
        "    )",
        "    for ((i = 2; i < CURRENT; i++)); do",
        "        case ${words[i]} in",
        f"            {_global_value_names(global_options)}) ((i++)) ;;",
        "            -*) ;;",
        "            *) cmd_index=$i; break ;;",
        "        esac",
        "    done",
        "    if (( cmd_index == 0 )); then",
        "        if [[ $PREFIX == -* || ${words[CURRENT-1]} == -* ]]; then",
        f"            _arguments {_zsh_specs(global_options)}",
        "        else",
        "            _describe -t commands 'nsctl command' commands",
        "        fi",
        "        return",
        "    fi",
        "    words=(${words[cmd_index,-1]})",
        "    (( CURRENT -= cmd_index - 1 ))",
        "    case ${(L)words[1]} in",
    ]
    for command in commands:
        specs = _zsh_specs(command.options)
        if command.name == "help":  # `nsctl help <TAB>`: the commands
            specs += " '1:command:_describe -t commands command commands'"
        if command.subcommands:
            lines += _zsh_group(command)
            continue
        lines.append(f"        {command.name.lower()}) _arguments {specs} ;;")
    lines += ["    esac", "}", '_nsctl "$@"', ""]
    return "\n".join(lines)


def _fish_option(condition: str, option: OptionDoc) -> str:
    parts = [f"complete -c nsctl -n {_fish_quote(condition)}"]
    for name in option.names:
        parts.append(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}")
    if option.takes_value:
        parts.append("-r -F" if option.files else "-x")
        if option.live:
            parts.append(f"-a '(__nsctl_live {option.live})'")
        elif option.choices:
            escaped = (re.sub(r"([^\w.:@/,+=-])", r"\\\1", c) for c in option.choices)
            parts.append("-a " + _fish_quote(" ".join(escaped)))
    parts.append("-d " + _fish_quote(_short(option.help, 60)))
    return " ".join(parts)


def _fish_group(condition: str, group: CommandDoc) -> list[str]:
    subs = " ".join(c.name for c in group.subcommands)
    lines = []
    first = _fish_quote(f"{condition}; and not __fish_seen_subcommand_from {subs}")
    for command in group.subcommands:
        lines.append(
            f"complete -c nsctl -n {first} -a {command.name} -d {_fish_quote(_short(command.help))}"
        )
    for command in group.subcommands:
        seen = f"{condition}; and __fish_seen_subcommand_from {command.name}"
        for option in command.options:
            lines.append(_fish_option(seen, option))
        if command.argument_live:
            lines.append(
                f"complete -c nsctl -n {_fish_quote(seen)} "
                f"-a '(__nsctl_live {command.argument_live})'"
            )
    return lines


def fish(global_options, commands) -> str:
    lines = [
        "# fish completion for nsctl (generated by `python -m nsctl.cli.gendocs`; do not edit)",
        "# Topic, cluster, broker and namespace names come from the NameServer given by -n on",
        "# the line or NAMESRV_ADDR (`nsctl __complete`, silent when unreachable).",
        "function __nsctl_command --description 'the nsctl command on the line, lower-cased'",
        "    set -l skip 0",
        "    for word in (commandline -opc)[2..-1]",
        "        if test $skip = 1",
        "            set skip 0",
        "            continue",
        "        end",
        "        switch $word",
        f"            case {_global_value_names(global_options).replace('|', ' ')}",
        "                set skip 1",
        "            case '-*'",
        "            case '*'",
        "                string lower -- $word",
        "                return 0",
        "        end",
        "    end",
        "    return 1",
        "end",
        "function __nsctl_command_is --description 'is this (lower-cased) the command?'",
        "    set -l command (__nsctl_command)",
        '    test "$command" = "$argv[1]"',
        "end",
        "function __nsctl_live --description 'names from the live NameServer'",
        "    nsctl __complete $argv[1] (commandline -opc)[2..-1] 2>/dev/null",
        "end",
        "complete -c nsctl -f",
    ]
    for command in commands:
        lines.append(
            f"complete -c nsctl -n 'not __nsctl_command' -a {command.name} "
            f"-d {_fish_quote(_short(command.help))}"
        )
    for option in global_options:
        lines.append(_fish_option("not __nsctl_command", option))
    for command in commands:
        condition = f"__nsctl_command_is {command.name.lower()}"
        for option in command.options:
            lines.append(_fish_option(condition, option))
        if command.subcommands:
            lines += _fish_group(condition, command)
    names = " ".join(c.name for c in commands)
    lines.append(f"complete -c nsctl -n '__nsctl_command_is help' -a {_fish_quote(names)}")
    return "\n".join(lines) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _roff(text: str) -> str:
    return text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq")


def man(global_options, commands) -> str:
    out = [
        f'.TH NSCTL 1 "" "nsctl {__version__}" "User Commands"',
        ".SH NAME",
        "nsctl \\- admin tool for Apache RocketMQ NameServers",
        ".SH SYNOPSIS",
        ".B nsctl",
        "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        _roff(
            "nsctl queries and changes RocketMQ NameServers (topic routes, cluster membership, KV "
            "config, write permissions), acts as a broker, and runs an embedded NameServer. "
            "Command names and option letters follow mqadmin. Every command that talks to a "
            "NameServer takes -n/--namesrv (default: the NAMESRV_ADDR environment variable, "
            "then the address server) and -o/--output table|json|plain."
        ),
        ".SH GLOBAL OPTIONS",
    ]
    out += _man_options(global_options)
    out.append(".SH COMMANDS")
    for command in commands:
        if command.alias_of:
            out += [f".SS {command.name}", _roff(f"mqadmin's name for {command.alias_of}.")]
            continue
        out += [f".SS {command.name}", _roff(command.description)]
        own = [o for o in command.options if o not in global_options]
        out += _man_options(own)
        if len(own) < len(command.options):
            out += [".TP", _roff("and the common options (see GLOBAL OPTIONS).")]
        for sub in command.subcommands:
            out += [f".SS {command.name} {sub.name}", _roff(sub.description)]
            mine = [o for o in sub.options if o not in global_options]
            out += _man_options(mine)
            if len(mine) < len(sub.options):
                out += [".TP", _roff("and the common options (see GLOBAL OPTIONS).")]
    out += [
        ".SH EXIT STATUS",
        ".TP\n0\nSuccess.",
        ".TP\n1\nThe NameServer answered with an error, or the thing asked for does not exist.",
        ".TP\n2\nUsage error (bad option, missing address).",
        ".TP\n3\nNo NameServer could be reached.",
        ".TP\n4\nA health expectation was not met.",
        ".SH ENVIRONMENT",
        ".TP\n.B NAMESRV_ADDR\nNameServer addresses, host:port;host:port.",
        ".TP\n.B NSCTL_ADDRESS_SERVER_URL\nURL of an HTTP address server.",
        ".TP\n.B ROCKETMQ_NAMESRV_DOMAIN, ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP\n"
        "Address server as the Java client builds it: http://DOMAIN:8080/rocketmq/SUBGROUP.",
        ".TP\n.B NSCTL_DEBUG\nShow tracebacks (same as \\-\\-debug).",
        ".TP\n.B NSCTL_CONTEXT\nThe context to use (same as \\-\\-context).",
        ".TP\n.B NSCTL_CONFIG\nThe configuration file (contexts), instead of the default below.",
        ".TP\n.B NSCTL_ACCESS_KEY, NSCTL_SECRET_KEY\nACL keys (as \\-\\-access\\-key, "
        "\\-\\-secret\\-key).",
        ".SH FILES",
        ".TP\n.I $XDG_CONFIG_HOME/nsctl/config.toml\n"
        "Contexts (default ~/.config/nsctl/config.toml; see nsctl config). Settings are taken "
        "from the options given, then \\-\\-context NAME, then the environment, then the "
        "current context, then the defaults.",
        ".SH SEE ALSO",
        "mqadmin(1)",
        "",
    ]
    return "\n".join(out)


def _man_options(options) -> list[str]:
    lines = []
    for option in options:
        names = ", ".join(f"\\fB{_roff(n)}\\fR" for n in option.names)
        value = f" \\fI{_roff(option.metavar)}\\fR" if option.takes_value else ""
        text = option.help
        if option.default is not None and "default:" not in text.lower():
            text += f" Default: {option.default}."
        lines += [".TP", names + value, _roff(text) or "."]
    return lines


def outputs() -> dict[Path, str]:
    """Every generated file and its content."""
    global_options, commands = collect()
    return {
        ROOT / "completions" / "nsctl.bash": bash(global_options, commands),
        ROOT / "completions" / "_nsctl": zsh(global_options, commands),
        ROOT / "completions" / "nsctl.fish": fish(global_options, commands),
        ROOT / "man" / "nsctl.1": man(global_options, commands),
    }


def main() -> None:
    for path, content in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
