"""The CLI's surface: help, version, usage errors, unreachable servers, docs freshness."""

from __future__ import annotations

import pytest

from nsctl import __version__
from nsctl.cli import gendocs

pytestmark = pytest.mark.script_launch_mode("subprocess")


def test_version(script_runner):
    result = script_runner.run(["nsctl", "--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"nsctl {__version__}"


def test_help_lists_the_mqadmin_commands(script_runner):
    result = script_runner.run(["nsctl", "--help"])
    assert result.returncode == 0
    for name in (
        "topicRoute",
        "clusterList",
        "topicList",
        "getKV",
        "putKV",
        "deleteKV",
        "registerBroker",
        "serve",
        "demo",
        "wipeWritePerm",
        "getNamesrvConfig",
    ):
        assert name in result.stdout


def test_mqadmin_aliases_are_accepted(script_runner):
    for alias in ("updateKvConfig", "deleteKvConfig"):
        result = script_runner.run(["nsctl", alias, "--help"])
        assert result.returncode == 0, alias
        assert "--namespace" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["nsctl", "noSuchCommand"],
        ["nsctl", "topicRoute", "-n", "127.0.0.1:9876"],  # -t missing
        ["nsctl", "topicRoute", "-t", "T", "-o", "xml", "-n", "127.0.0.1:9876"],
        ["nsctl", "topicRoute", "-t", "T", "--timeout", "-1", "-n", "127.0.0.1:9876"],
    ],
)
def test_usage_errors_exit_2(script_runner, argv):
    result = script_runner.run(argv)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_missing_address_is_a_usage_error(script_runner, clean_env):
    result = script_runner.run(["nsctl", "topicRoute", "-t", "T"])
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "NAMESRV_ADDR" in result.stderr


def test_bad_address_is_a_usage_error(script_runner):
    result = script_runner.run(["nsctl", "clusterList", "-n", "not-an-address"])
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_dead_nameserver_exits_3_with_one_line(script_runner, unused_tcp_port):
    result = script_runner.run(
        [
            "nsctl",
            "topicRoute",
            "-t",
            "T",
            "-n",
            f"127.0.0.1:{unused_tcp_port}",
            "--timeout",
            "0.5",
            "--retries",
            "1",
        ]
    )
    assert result.returncode == 3
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(script_runner, unused_tcp_port):
    result = script_runner.run(
        [
            "nsctl",
            "--debug",
            "clusterList",
            "-n",
            f"127.0.0.1:{unused_tcp_port}",
            "--timeout",
            "0.5",
            "--retries",
            "1",
        ]
    )
    assert result.returncode == 3
    assert "Traceback" in result.stderr


def test_namesrv_addr_environment_is_used(script_runner, ns, monkeypatch):
    monkeypatch.setenv("NAMESRV_ADDR", ns.address)
    result = script_runner.run(["nsctl", "clusterList", "-o", "json", "--verbose"])
    assert result.returncode == 0, result.stderr
    assert "NAMESRV_ADDR" in result.stderr


def test_completions_and_man_page_are_current():
    stale = [
        str(path.relative_to(gendocs.ROOT))
        for path, content in gendocs.outputs().items()
        if not path.exists() or path.read_text() != content
    ]
    assert not stale, f"regenerate with `python -m nsctl.cli.gendocs`: {stale}"


@pytest.fixture
def unused_tcp_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_command_is_mapped_to_its_module():
    import typer.main

    from nsctl.cli.main import COMMAND_MODULES, load_app

    group = typer.main.get_command(load_app())
    assert set(group.commands) == set(COMMAND_MODULES)
