"""Shell completions and the man page: aliases, per-command flags, value lists, and names
completed from a live NameServer (`nsctl __complete`), run in real bash, fish and zsh."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from nsctl.cli import gendocs
from tests.demo_server import demo_server

ROOT = gendocs.ROOT
BIN = os.path.dirname(sys.executable)
ENV = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
ENV.pop("NAMESRV_ADDR", None)
ALIASES = ("updateKvConfig", "deleteKvConfig")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("demo")) as address:
        yield address


@pytest.fixture(scope="module")
def dead():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def silent():
    """Accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def live(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.path.join(BIN, "nsctl"), "__complete", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env or ENV,
    )


def test_live_names_from_a_real_nameserver(demo):
    topics = live("topics", "topicRoute", "-n", demo, "-t").stdout.split()
    assert "DemoTopic" in topics
    assert live("clusters", "-n", demo).stdout.split() == ["DemoCluster"]
    assert live("brokers", "wipeWritePerm", "-n", demo).stdout.split() == ["broker-a", "broker-b"]
    assert live("namespaces", f"--namesrv={demo}").stdout.split() == ["ORDER_TOPIC_CONFIG"]
    # consumer groups live on the brokers: the demo's stand-ins hold a 5.3.3 broker's own
    assert "TOOLS_CONSUMER" in live("groups", "-n", demo).stdout.split()
    from_env = live("clusters", "watch", env={**ENV, "NAMESRV_ADDR": demo})
    assert from_env.stdout.split() == ["DemoCluster"]
    # the first address that answers within the budget
    assert live("clusters", "-n", f"{demo};127.0.0.1:1").stdout.split() == ["DemoCluster"]


@pytest.mark.parametrize("kind", ["topics", "clusters", "brokers", "groups", "namespaces"])
def test_live_names_are_silent_when_nothing_answers(kind, dead, silent):
    for words in (["-n", dead], ["-n", silent], ["-n", "not an address"], []):
        result = live(kind, *words)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), words


def bash_complete(*words: str, env: dict | None = None) -> list[str]:
    """Run the bash script's function as bash does on TAB, with COMP_WORDS / COMP_CWORD."""
    script = (
        f"source {ROOT / 'completions' / 'nsctl.bash'}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
        "_nsctl 2>/dev/null\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script, "bash", "nsctl", *words],
        capture_output=True,
        text=True,
        timeout=30,
        env=env or ENV,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_bash_flags_that_take_no_value():
    offered = bash_complete("watch", "--cluster", "-")
    assert {"-t", "--until", "--interval", "-s"} <= set(offered)


def test_bash_aliases_complete_their_own_options():
    for alias in ALIASES:
        offered = set(bash_complete(alias, "-"))
        assert {"-s", "--namespace", "-k", "--key"} <= offered, alias
    assert "-v" in bash_complete("updateKvConfig", "-")
    assert bash_complete("updatekv") == ["updateKvConfig"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("watch", "--until", ""), ["writable", "exists", "absent", "consistent", "masters>=1"]),
        (("serve", "--tls-mode", ""), ["permissive", "enforcing"]),
        (("serve", "--log-level", ""), ["DEBUG", "INFO", "WARNING", "ERROR"]),
        (("topicList", "-o", ""), ["table", "json", "plain"]),
        (("-o", ""), ["table", "json", "plain"]),
        (("clusterList", "--output", "j"), ["json"]),
        (("clusterl",), ["clusterList"]),
        (("TOPICROUTE", "--to"), ["--topic"]),
    ],
)
def test_bash_value_lists(words, expected):
    assert bash_complete(*words) == expected


def test_bash_live_names(demo, dead):
    assert "DemoTopic" in bash_complete("topicRoute", "-n", demo, "-t", "")
    assert bash_complete("-n", demo, "wipeWritePerm", "-b", "") == ["broker-a", "broker-b"]
    assert bash_complete("TOPICROUTE", "-t", "Demo", env={**ENV, "NAMESRV_ADDR": demo}) == [
        "DemoCluster",
        "DemoCluster_REPLY_TOPIC",
        "DemoTopic",
    ]
    assert bash_complete("check", "-n", demo, "--expect-cluster", "") == ["DemoCluster"]
    assert bash_complete("getKV", "-n", demo, "-s", "") == ["ORDER_TOPIC_CONFIG"]
    assert bash_complete("topicRoute", "-n", dead, "-t", "") == []


needs_fish = pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
needs_zsh = pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")


def fish_complete(line: str, env: dict | None = None) -> list[str]:
    script = f"source {ROOT / 'completions' / 'nsctl.fish'}; complete -C {line!r}"
    result = subprocess.run(
        ["fish", "--no-config", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env=env or ENV,
    )
    assert result.stderr == "", result.stderr
    return [entry.split("\t")[0] for entry in result.stdout.splitlines()]


@needs_fish
def test_fish_completions(demo, dead):
    assert fish_complete("nsctl watch --until ") == sorted(
        ["writable", "exists", "absent", "consistent", "masters>=1"]
    )
    assert {"-t", "-s"} <= set(fish_complete("nsctl watch --cluster -"))
    assert {"-s", "-k", "-v"} <= set(fish_complete("nsctl updateKvConfig -"))
    assert "updateKvConfig" in fish_complete("nsctl upd")
    assert fish_complete("nsctl -o ") == ["json", "plain", "table"]
    assert "DemoTopic" in fish_complete(f"nsctl -n {demo} topicroute -t Demo")
    assert fish_complete(f"nsctl -n {demo} addWritePerm -b ") == ["broker-a", "broker-b"]
    assert fish_complete(f"nsctl topicRoute -n {dead} -t ") == []


@needs_zsh
def test_zsh_script_parses_and_dispatches(demo, dead):
    """zsh's completion system needs a terminal; here its entry points are stubbed to print
    what the script asks for, which runs the script's own logic for real."""
    script = f"""
    _arguments() {{ print -r -- "ARGUMENTS $*" }}
    _describe() {{ print -r -- "DESCRIBE $*" }}
    compadd() {{ shift; print -r -- "COMPADD ${{(P)1}}" }}
    source {ROOT / "completions" / "_nsctl"} >/dev/null 2>&1
    complete_line() {{ words=("$@"); CURRENT=$#; PREFIX=${{words[-1]}}; _nsctl }}
    complete_line nsctl ''
    complete_line nsctl -n {demo} TOPICROUTE -t ''
    complete_line nsctl updateKvConfig -s ''
    _nsctl_live_test() {{ line_words=(-n $1); _nsctl_live topics }}
    _nsctl_live_test {demo}
    _nsctl_live_test {dead}
    print END
    """
    result = subprocess.run(
        ["zsh", "-f", "-c", script], capture_output=True, text=True, timeout=30, env=ENV
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert (
        out[0].startswith("DESCRIBE -t commands")
        and "updateKvConfig" in (ROOT / "completions" / "_nsctl").read_text()
    )
    assert (
        out[1].startswith("ARGUMENTS ")
        and "'-t[Topic name.]:topic:_nsctl_live topics'"
        in (ROOT / "completions" / "_nsctl").read_text()
    )
    assert "_nsctl_live topics" in out[1] and "--list" in out[1]
    assert "_nsctl_live namespaces" in out[2] and "--value" in out[2]
    assert "DemoTopic" in out[3].split()
    assert out[4] == "COMPADD " and out[5] == "END", out


def test_zsh_script_has_valid_syntax():
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    result = subprocess.run(["zsh", "-n", str(ROOT / "completions" / "_nsctl")])
    assert result.returncode == 0


def test_every_alias_is_in_every_completion_and_the_man_page():
    files = {
        name: (ROOT / path).read_text()
        for name, path in [
            ("bash", "completions/nsctl.bash"),
            ("zsh", "completions/_nsctl"),
            ("fish", "completions/nsctl.fish"),
            ("man", "man/nsctl.1"),
        ]
    }
    _, commands = gendocs.collect()
    aliases = {c.name: c.alias_of for c in commands if c.alias_of}
    assert set(ALIASES) <= set(aliases)
    for alias in aliases:
        for name, text in files.items():
            assert alias in text, (alias, name)


def test_man_page_shows_defaults_not_type_names():
    text = (ROOT / "man" / "nsctl.1").read_text()
    for type_name in ("FLOAT RANGE", "INTEGER RANGE", "FLOAT", "INTEGER", "TEXT"):
        assert f"\\fI{type_name}\\fR" not in text
    plain = text.replace("\\-", "-")
    global_options, commands = gendocs.collect()
    by_name = {o.names[-1]: o for o in global_options}
    assert by_name["--timeout"].default == "3" and by_name["--retries"].default is not None
    for option in [*global_options, *(o for c in commands for o in c.options)]:
        if option.default is not None and "default:" not in option.help.lower():
            assert f"Default: {option.default}." in plain, option.names
    assert "mqadmin\\(aqs name for putKV." in text


def test_live_completion_is_in_all_three_scripts():
    for path in ("completions/nsctl.bash", "completions/_nsctl", "completions/nsctl.fish"):
        text = Path(ROOT / path).read_text()
        assert "nsctl __complete" in text, path
        for kind in ("topics", "clusters", "brokers", "namespaces"):
            assert f"_nsctl_live {kind}" in text or f"__nsctl_live {kind}" in text, (path, kind)


def test_help_completes_command_names_in_every_shell():
    assert {"topicRoute", "topicList", "topicStatus"} <= set(bash_complete("help", "top"))
    fish = (ROOT / "completions" / "nsctl.fish").read_text()
    assert "complete -c nsctl -n '__nsctl_command_is help' -a '" in fish and " topicRoute " in fish
    zsh = (ROOT / "completions" / "_nsctl").read_text()
    assert "help) _arguments" in zsh and "1:command:_describe -t commands command commands" in zsh
