"""Every mqadmin 5.3.3 long option name that README.md lists ("Coming from mqadmin") is taken
by the nsctl command of that name, as the same option as its short name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from nsctl.cli.main import load_app

README = Path(__file__).resolve().parents[2] / "README.md"
ENTRY = re.compile(r"^- `(\w+)`: (.+)$")
PAIR = re.compile(r"`(-\w) (--\w+)`")


def documented() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("long option names work as well as nsctl's", 1)[1].split("\n\n", 2)[1]
    found = []
    for line in section.splitlines():
        match = ENTRY.match(line)
        assert match, line
        found += [(match[1], short, long) for short, long in PAIR.findall(match[2])]
    return found


PAIRS = documented()


def test_the_readme_lists_the_commands_mqadmin_shares_with_nsctl():
    assert {"updateTopic", "deleteTopic", "updateSubGroup", "clusterList"} <= {
        c for c, _, _ in PAIRS
    }
    assert len(PAIRS) > 40


@pytest.mark.parametrize(("command", "short", "long"), PAIRS, ids=lambda v: str(v))
def test_mqadmin_long_name_is_the_same_option(command, short, long):
    group = typer.main.get_command(load_app())
    click_command = group.get_command(None, command)  # type: ignore[arg-type]
    assert click_command is not None, command
    owners = {opt: p.name for p in click_command.params for opt in getattr(p, "opts", [])}
    assert long in owners, f"{command} does not take {long}"
    assert owners[long] == owners[short], f"{command}: {long} is not {short}"
