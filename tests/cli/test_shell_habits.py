"""mqadmin habits: case-insensitive command names, `nsctl help`, common options before the
command, `topicRoute -l`, repeated options, one suggestion line, whole help summaries."""

from __future__ import annotations

import json
import os
import re
import subprocess

import click
import pytest
import typer.main

from nsctl.cli.app import summary
from nsctl.cli.main import GLOBAL_VALUE_OPTIONS, _command_name, load_app
from tests.demo_server import NSCTL, demo_server


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("demo")) as address:
        yield address


def nsctl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*NSCTL, *args], capture_output=True, text=True, timeout=60, env=env)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def the_group() -> click.Group:
    return typer.main.get_command(load_app())


@pytest.mark.parametrize("name", ["clusterlist", "CLUSTERLIST", "ClusterList", "clusterList"])
def test_command_names_match_in_any_case(demo, name):
    result = nsctl(name, "-n", demo, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "DemoCluster" in json.loads(result.stdout)["clusterAddrTable"]


def test_any_case_reaches_every_command_and_alias():
    group = the_group()
    ctx = click.Context(group)
    for name in group.commands:
        for spelled in (name.lower(), name.upper()):
            resolved, command, _ = group.resolve_command(ctx, [spelled])
            assert command is group.commands[name]
            assert resolved == name  # usage lines and errors show the canonical name
        assert _command_name(["-n", "x:1", name.upper()]) == name


def test_upper_case_topic_route(demo):
    result = nsctl("TOPICROUTE", "-t", "DemoTopic", "-n", demo, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert {b["brokerName"] for b in json.loads(result.stdout)["brokerDatas"]} == {
        "broker-a",
        "broker-b",
    }


def test_help_lists_canonical_names_and_usage_shows_them():
    listing = nsctl("--help").stdout
    assert "clusterList" in listing and "clusterlist" not in listing
    usage = nsctl("clusterlist", "--help")
    assert usage.returncode == 0
    assert usage.stdout.startswith("Usage: nsctl clusterList ")


def test_help_command():
    for argv in (["help", "topicroute"], ["help", "topicRoute"]):
        result = nsctl(*argv)
        assert result.returncode == 0, result.stderr
        assert result.stdout == nsctl("topicRoute", "--help").stdout
    listing = nsctl("help")
    assert listing.returncode == 0
    assert listing.stdout == nsctl("--help").stdout
    unknown = nsctl("help", "topicRout")
    assert unknown.returncode == 2
    assert "Did you mean 'topicRoute'" in one_line(unknown.stderr)


def test_common_options_before_the_command(demo):
    result = nsctl("-n", demo, "-o", "json", "--timeout", "2", "--retries", "1", "clusterList")
    assert result.returncode == 0, result.stderr
    assert "DemoCluster" in json.loads(result.stdout)["clusterAddrTable"]
    plain = nsctl("-o", "plain", "topicList", "-n", demo)
    assert plain.returncode == 0, plain.stderr
    assert "DemoTopic" in plain.stdout.split()
    verbose = nsctl("--verbose", "-n", demo, "topicList", "-o", "json")
    assert verbose.returncode == 0
    assert "NameServers" in verbose.stderr


def test_the_command_own_option_wins_over_the_one_before_it(demo, unused_port):
    dead = f"127.0.0.1:{unused_port}"
    result = nsctl("-n", dead, "-o", "plain", "clusterList", "-n", demo, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "DemoCluster" in json.loads(result.stdout)["clusterAddrTable"]
    reverse = nsctl("-n", demo, "clusterList", "-n", dead, "--timeout", "0.3", "--retries", "1")
    assert reverse.returncode == 3


def test_a_common_option_before_a_command_that_lacks_it_is_a_usage_error():
    result = nsctl("-n", "127.0.0.1:1", "serve")
    assert result.returncode == 2
    assert "does not apply to serve" in one_line(result.stderr)


def test_debug_after_the_command_too(unused_port):
    result = nsctl("clusterList", "-n", f"127.0.0.1:{unused_port}", "--retries", "1", "--debug")
    assert result.returncode == 3
    assert "Traceback" in result.stderr


def test_global_value_options_match_the_group():
    group = the_group()
    taking_values = {
        name
        for p in group.params
        if isinstance(p, click.Option) and not p.is_flag
        for name in p.opts + p.secondary_opts
    }
    assert taking_values == GLOBAL_VALUE_OPTIONS


def test_topic_route_l_alone_gives_the_list_layout(demo):
    alone = nsctl("topicRoute", "-t", "DemoTopic", "-n", demo, "-l")
    plain = nsctl("topicRoute", "-t", "DemoTopic", "-n", demo, "-l", "-o", "plain")
    assert alone.returncode == 0 and plain.returncode == 0
    assert alone.stdout == plain.stdout
    assert "broker-a" in alone.stdout and "┃" not in alone.stdout
    refused = nsctl("topicRoute", "-t", "DemoTopic", "-n", demo, "-l", "-o", "json")
    assert refused.returncode == 2
    one_line(refused.stderr)


def _single_valued_options():
    group = the_group()
    ctx = click.Context(group)
    cases = []
    for name, command in sorted(group.commands.items()):
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and not (
                param.is_flag or param.multiple or param.count
            ):
                cases.append((name, param.opts[0]))
    cases += [
        (None, p.opts[0])
        for p in group.params
        if isinstance(p, click.Option) and not (p.is_flag or p.multiple or p.count)
    ]
    return cases


@pytest.mark.parametrize(("command", "option"), _single_valued_options())
def test_a_repeated_single_valued_option_is_a_usage_error(command, option):
    from nsctl.cli import app as app_module

    group = the_group()
    argv = ([command] if command else []) + [option, "v1", option, "v2"]
    if command is None:
        argv.append("clusterList")
    with pytest.raises(click.UsageError, match=re.escape("given 2 times")):
        group.main(argv, standalone_mode=False)
    assert app_module  # the rule lives in nsctl.cli.app, once for every command


@pytest.mark.parametrize(
    "argv", [["topicRoute", "-t", "A", "-t", "B"], ["-o", "json", "-o", "plain", "topicList"]]
)
def test_a_repeated_option_exits_2_with_one_line(argv):
    result = nsctl(*argv, "-n", "127.0.0.1:1")
    assert result.returncode == 2
    assert "given 2 times" in one_line(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("typo", "suggested"),
    [("getkvs", "'getKV'"), ("topicrout", "'topicRoute'"), ("clustrList", "'clusterList'")],
)
def test_a_typo_gets_one_suggestion_line(typo, suggested):
    result = nsctl(typo)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.count("Did you mean") == 1
    assert line.count(suggested) == 1


def test_help_summaries_are_whole_sentences():
    listing = nsctl("--help", env={**os.environ, "COLUMNS": "80"}).stdout
    text = " ".join(listing.split("Commands:", 1)[1].split())
    text = re.sub(r"(\w)- (\w)", r"\1-\2", text)  # the formatter may wrap after a hyphen
    group = the_group()
    for name, command in group.commands.items():
        if command.hidden:
            continue
        line = summary(command)
        assert line.endswith("."), (name, line)
        assert line.count("(") == line.count(")"), (name, line)
        assert "..." not in line
        assert f"{name} {line}" in text, (name, line)


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
