"""Contexts in the CLI: the precedence of each setting from each source (explicit options,
--context, the environment, the current context, the defaults) as --verbose reports it and as
commands use it; a broken configuration file is one line naming FILE:LINE and exit 2 for every
command; secrets by reference and the 0600 warning; `config` sub-commands (tools.yml import,
view masking); --context before and after the command; completion of context names; kv diff
covering the context's namespaces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli.conftest import NSCTL
from tests.cli.test_contract_matrix import COMMANDS, CS_FILE

DEAD = "127.0.0.1:1"  # refuses at once: the commands below fail fast, after resolving

CONFIG = """\
current-context = "cur"

[contexts.cur]
namesrv = "127.0.0.2:1"
timeout = 4
retries = 0
output = "plain"
tls-insecure = true
access-key = "cur-ak"
secret-key-env = "CUR_SK"
namespaces = ["cur-ns"]

[contexts.chosen]
namesrv = "127.0.0.3:1"
timeout = 5
retries = 2
output = "json"
tls-insecure = true
access-key-env = "CHOSEN_AK"
secret-key-file = "chosen.secret"
namespaces = ["chosen-ns"]

[contexts.bare]
namesrv = "127.0.0.4:1"
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "chosen.secret").write_text("chosen-sk\n")
    (tmp_path / "chosen.secret").chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    return tmp_path


def base_env(config: Path, **more: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NSCTL_", "NAMESRV_ADDR", "ROCKETMQ_NAMESRV"))
    }
    env.update(NSCTL_CONFIG=str(config), CUR_SK="cur-sk", CHOSEN_AK="chosen-ak", COLUMNS="200")
    env.update(more)
    return env


def run(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NSCTL, *args], capture_output=True, text=True, env=env, timeout=60, input=stdin
    )


def settings_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("nsctl: settings: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def namesrv_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("nsctl: NameServers ")]
    assert len(lines) == 1, stderr
    return lines[0]


# --- precedence: each setting from each source --------------------------------------------

#: setting -> source -> (extra args, extra env, what --verbose shows)
MATRIX = {
    "timeout": {
        "option": (["--timeout", "7"], {}, "timeout 7s (option)"),
        "--context": (["--context", "chosen"], {}, "timeout 5s (context chosen (--context))"),
        "NSCTL_CONTEXT": ([], {"NSCTL_CONTEXT": "chosen"}, "timeout 5s (context chosen "
                          "(NSCTL_CONTEXT))"),
        "current": ([], {}, "timeout 4s (current context cur"),
        "default": (["--context", "bare"], {}, "timeout 3s (default)"),
    },
    "retries": {
        "option": (["--retries", "3"], {}, "retries 3 (option)"),
        "--context": (["--context", "chosen"], {}, "retries 2 (context chosen (--context))"),
        "current": ([], {}, "retries 0 (current context cur"),
        "default": (["--context", "bare"], {}, "retries 1 (default)"),
    },
    "output": {
        "option": (["-o", "table"], {}, "output table (option)"),
        "--context": (["--context", "chosen"], {}, "output json (context chosen (--context))"),
        "current": ([], {}, "output plain (current context cur"),
        "default": (["--context", "bare"], {}, "output table (default)"),
    },
    "tls-insecure": {
        "option": (["--context", "bare", "--tls-insecure"], {}, "tls-insecure on (option)"),
        "--context": (["--context", "chosen"], {}, "tls-insecure on (context chosen"),
        "current": ([], {}, "tls-insecure on (current context cur"),
        "default": (["--context", "bare"], {}, "tls-insecure off (default)"),
    },
    "access-key": {
        "option": (["--access-key", "opt-ak", "--secret-key", "s"], {"NSCTL_ACCESS_KEY": "env"},
                   "access-key opt-ak (option)"),
        "--context": (["--context", "chosen"], {"NSCTL_ACCESS_KEY": "env-ak"},
                      "access-key chosen-ak (context chosen (--context))"),
        "environment": ([], {"NSCTL_ACCESS_KEY": "env-ak"}, "access-key env-ak (NSCTL_ACCESS_KEY)"),
        "current": ([], {}, "access-key cur-ak (current context cur"),
        "default": (["--context", "bare"], {}, "access-key - (default)"),
    },
    "secret-key": {
        "option": (["--secret-key", "opt-sk"], {}, "secret-key **** (option)"),
        "--context": (["--context", "chosen"], {"NSCTL_SECRET_KEY": "env-sk"},
                      "secret-key **** (context chosen (--context))"),
        "environment": ([], {"NSCTL_SECRET_KEY": "env-sk"}, "secret-key **** (NSCTL_SECRET_KEY)"),
        "current": ([], {}, "secret-key **** (current context cur"),
        "default": (["--context", "bare"], {}, "secret-key - (default)"),
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "source"), [(s, src) for s, sources in MATRIX.items() for src in sources]
)
def test_each_setting_from_each_source(home, setting, source):
    args, env, shown = MATRIX[setting][source]
    done = run("topicRoute", "-t", "T", "-n", DEAD, "--verbose", *args,
               env=base_env(home / "config.toml", **env))  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert shown in settings_line(done.stderr)


NAMESRV = {
    "option": (["-n", DEAD, "--context", "chosen"], {"NAMESRV_ADDR": "127.0.0.9:1"},
               f"NameServers {DEAD} (from option)"),
    "--address-server over the environment": (
        ["--address-server", "http://127.0.0.1:1/ns"], {"NAMESRV_ADDR": "127.0.0.9:1"},
        "address server http://127.0.0.1:1/ns is unreachable"),
    "--context": (["--context", "chosen"], {"NAMESRV_ADDR": "127.0.0.9:1"},
                  "NameServers 127.0.0.3:1 (from context chosen (--context))"),
    "NSCTL_CONTEXT": ([], {"NAMESRV_ADDR": "127.0.0.9:1", "NSCTL_CONTEXT": "chosen"},
                      "NameServers 127.0.0.3:1 (from context chosen (NSCTL_CONTEXT))"),
    "environment": ([], {"NAMESRV_ADDR": "127.0.0.9:1"},
                    "NameServers 127.0.0.9:1 (from NAMESRV_ADDR)"),
    "current": ([], {}, "NameServers 127.0.0.2:1 (from current context cur"),
}  # fmt: skip


@pytest.mark.parametrize("source", NAMESRV)
def test_addresses_from_each_source(home, source):
    args, env, shown = NAMESRV[source]
    done = run("topicRoute", "-t", "T", "--verbose", "--retries", "0", *args,
               env=base_env(home / "config.toml", **env))  # fmt: skip
    assert done.returncode == 3, done.stderr
    if source.startswith("--address-server"):
        assert shown in done.stderr
    else:
        assert shown in namesrv_line(done.stderr)


def test_without_a_file_nothing_changes(tmp_path):
    env = base_env(tmp_path / "none" / "config.toml")
    done = run("topicRoute", "-t", "T", env=env)
    assert done.returncode == 2 and done.stderr.startswith("nsctl: no NameServer address")
    assert run("config", "get-contexts", "-o", "json", env=env).returncode == 0
    missing = run("config", "current-context", env=env)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    named = run("topicRoute", "-t", "T", "--context", "x", env=env)
    assert named.returncode == 2 and "no context 'x'" in named.stderr


def test_context_works_before_and_after_the_command_and_after_wins(home):
    env = base_env(home / "config.toml")
    for args in (["--context", "chosen", "topicRoute"], ["topicRoute", "--context", "chosen"]):
        done = run(*args, "-t", "T", "--verbose", env=env)
        assert "(from context chosen (--context))" in namesrv_line(done.stderr), args
    both = run("--context", "bare", "topicRoute", "-t", "T", "--context", "chosen", "--verbose",
               env=env)  # fmt: skip
    assert "127.0.0.3:1" in namesrv_line(both.stderr)
    refused = run("--context", "chosen", "serve", env=env)
    assert refused.returncode == 2 and "--context does not apply to serve" in refused.stderr


def test_a_context_really_used(home, ns):
    """No -n, no NAMESRV_ADDR: the current context's NameServer answers, in its format."""
    config = home / "config.toml"
    config.write_text(f'current-context = "here"\n[contexts.here]\nnamesrv = "{ns.address}"\n'
                      'output = "json"\nnamespaces = ["app"]\n')  # fmt: skip
    env = base_env(config)
    assert run("putKV", "-s", "app", "-k", "k", "-v", "v", env=env).returncode == 0
    done = run("kv", "diff", "-s", "other", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["namespaces"] == ["ORDER_TOPIC_CONFIG", "other", "app"]
    exported = json.loads(run("kv", "export", env=env).stdout)
    assert exported["namespaces"]["app"] == {"k": "v"}


# --- a broken file: one line, exit 2, every command -----------------------------------------

BROKEN = {
    "bad TOML": ('[contexts.a]\nnamesrv = "x:1\n', 2, "invalid TOML"),
    "unknown key": ('[contexts.a]\nnamesrv = "x:1"\ncolour = "red"\n', 3, "unknown key"),
    "bad value": ('[contexts.a]\nnamesrv = "x:1"\nretries = "many"\n', 3, "expected a whole"),
}

#: Every NameServer command (the contract matrix's rows, plus the two it cannot run), and the
#: config sub-commands.
EVERY_COMMAND = [
    *{(c.name, *c.args) for c in COMMANDS},
    ("kv", "sync", "--from", DEAD, "--to", "127.0.0.1:2"),
    ("kv", "import", "-f", CS_FILE),
    ("config", "get-contexts"),
    ("config", "current-context"),
    ("config", "use-context", "a"),
    ("config", "set-context", "a", "--timeout", "2"),
    ("config", "delete-context", "a"),
    ("config", "view"),
]


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_file_is_one_line_and_exit_2_for_every_command(tmp_path, kind):
    text, line, says = BROKEN[kind]
    config = tmp_path / "config.toml"
    config.write_text(text)
    env = base_env(config)

    def one(argv: tuple[str, ...]) -> tuple[tuple[str, ...], subprocess.CompletedProcess]:
        extra = () if argv[0] == "config" else ("-n", DEAD)
        return argv, run(*argv, *extra, env=env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, sorted(EVERY_COMMAND)))
    for argv, done in results:
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith(f"nsctl: {config}:{line}: "), (argv, done.stderr)
        assert says in done.stderr and done.stderr.count("\n") == 1, (argv, done.stderr)
        assert done.stdout == "", argv
    assert config.read_text() == text  # nothing rewrote it


# --- secrets ------------------------------------------------------------------------------


def test_secret_references_and_the_0600_warning(home, tmp_path):
    config = home / "config.toml"
    env = base_env(config)
    done = run("topicRoute", "-t", "T", "--context", "chosen", "-n", DEAD, env=env)
    assert done.returncode == 3 and "warning" not in done.stderr
    (home / "chosen.secret").chmod(0o644)
    done = run("topicRoute", "-t", "T", "--context", "chosen", "-n", DEAD, env=env)
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [f"nsctl: warning: {home / 'chosen.secret'} holds a secret key and "
                        f"others may read it: chmod 600 {home / 'chosen.secret'}"]  # fmt: skip
    unset = run("topicRoute", "-t", "T", "-n", DEAD, env={**env, "CUR_SK": ""})
    assert unset.returncode == 2
    assert unset.stderr == f"nsctl: {config}:10: context cur: secret-key-env: $CUR_SK is not set\n"

    inline = tmp_path / "inline.toml"
    inline.write_text('[contexts.i]\nnamesrv = "127.0.0.1:1"\naccess-key = "ak"\n'
                      'secret-key = "very-secret"\n')  # fmt: skip
    inline.chmod(0o644)
    done = run("topicRoute", "-t", "T", "--context", "i", env=base_env(inline))
    assert done.returncode == 3
    assert [line for line in done.stderr.splitlines() if "warning" in line] == [
        f"nsctl: warning: {inline} holds the secret key of context i and others may read it: "
        f"chmod 600 {inline}"
    ]
    inline.chmod(0o600)
    done = run("topicRoute", "-t", "T", "--context", "i", env=base_env(inline))
    assert "warning" not in done.stderr
    for fmt in ("plain", "json"):
        shown = run("config", "view", "-o", fmt, env=base_env(inline))
        assert shown.returncode == 0 and "very-secret" not in shown.stdout
        assert "****" in shown.stdout
    listed = run("config", "get-contexts", "-o", "json", env=base_env(inline))
    assert "very-secret" not in listed.stdout


def test_config_commands_and_tools_yml(tmp_path, ns):
    config = tmp_path / "cfg" / "config.toml"
    env = base_env(config)
    tools = tmp_path / "tools.yml"
    tools.write_text("accessKey: rocketmq2\nsecretKey: 12345678\n")
    done = run("config", "set-context", "acl", "-n", ns.address, "--from-tools-yml", str(tools),
               "-s", "app", "-o", "json", env=env)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "context acl created\n"), done.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    secret = config.parent / "secrets" / "acl.secret-key"
    assert secret.read_text() == "12345678\n" and secret.stat().st_mode & 0o777 == 0o600
    assert "12345678" not in config.read_text()
    assert run("config", "set-context", "local", "-n", ns.address, env=env).returncode == 0
    again = run("config", "set-context", "local", "-n", ns.address, env=env)
    assert again.stdout == "no change: context local\n"
    assert run("config", "use-context", "acl", env=env).stdout == "current context: acl\n"
    assert run("config", "current-context", env=env).stdout == "acl\n"
    listed = json.loads(run("config", "get-contexts", "-o", "json", env=env).stdout)
    assert [(c["name"], c["current"]) for c in listed["contexts"]] == [
        ("acl", True),
        ("local", False),
    ]
    assert listed["contexts"][0]["access-key"] == "rocketmq2"
    plain = run("config", "get-contexts", "-o", "plain", env=env).stdout
    assert plain.splitlines()[0].startswith("* acl\t")
    verbose = run("clusterList", "--no-stats", "--verbose", env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert "access-key rocketmq2 (current context acl" in verbose.stderr
    assert "secret-key **** (current context acl" in verbose.stderr
    assert verbose.stdout.startswith("{")  # the context's output format
    # update keeps the other keys; --unset removes one
    assert run("config", "set-context", "acl", "--timeout", "9", "--unset", "output",
               env=env).stdout == "context acl updated\n"  # fmt: skip
    view = run("config", "view", "-o", "json", env=env)
    acl = json.loads(view.stdout)["contexts"]["acl"]
    assert acl["timeout"] == 9 and "output" not in acl and acl["namespaces"] == ["app"]
    assert run("config", "delete-context", "acl", env=env).stdout == "deleted context acl\n"
    assert not secret.exists()
    assert run("config", "current-context", env=env).returncode == 1
    assert run("config", "use-context", "acl", env=env).returncode == 1
    bad = run("config", "set-context", "x", "-n", "nohost", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    for option in ("--tls-ca", "--secret-key-file", "--from-tools-yml"):
        missing = run("config", "set-context", "x", option, str(tmp_path / "nope"), env=env)
        assert missing.returncode == 2 and "does not exist" in missing.stderr, option


def test_completion_of_context_names(home):
    env = base_env(home / "config.toml")
    done = subprocess.run([sys.executable, "-m", "nsctl.cli.main", "__complete", "contexts"],
                          capture_output=True, text=True, env=env, timeout=30)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "bare\nchosen\ncur\n", "")
    (home / "config.toml").write_text("[contexts\n")
    done = subprocess.run([sys.executable, "-m", "nsctl.cli.main", "__complete", "contexts"],
                          capture_output=True, text=True, env=env, timeout=30)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_live_completion_follows_the_context(home, ns):
    config = home / "config.toml"
    config.write_text(f'[contexts.here]\nnamesrv = "{ns.address}"\nnamespaces = ["app"]\n')
    env = base_env(config)
    done = subprocess.run([*NSCTL[:1], "-m", "nsctl.cli.main", "__complete", "namespaces",
                           "getKV", "--context", "here", "-s"],
                          capture_output=True, text=True, env=env, timeout=30)  # fmt: skip
    assert done.stdout.split() == ["ORDER_TOPIC_CONFIG", "app"]


PROBE = """
import sys
sys.argv = ["nsctl", "topicRoute", "-t", "T", "-n", "127.0.0.1:1", "-o", "json", "--retries", "0"]
from nsctl.cli.main import _run  # run() would end the process here: `-c` is __main__
try:
    _run(sys.argv[1:])
except SystemExit:
    pass
watched = ("nsctl.client.contexts", "tomllib", "tomli")
print(",".join(sorted(m for m in sys.modules if m in watched)))
"""


def test_start_up_cost_without_and_with_a_file(home, tmp_path):
    """No file: neither the contexts module nor a TOML parser is loaded; a file: both."""
    without = run_probe(base_env(tmp_path / "none.toml"))
    assert without == ""
    with_file = run_probe(base_env(home / "config.toml"))
    assert "nsctl.client.contexts" in with_file and "tom" in with_file


def run_probe(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                          timeout=60)  # fmt: skip
    return done.stdout.strip()


def test_without_a_file_an_explicit_address_server_beats_the_environment(tmp_path):
    env = base_env(tmp_path / "none.toml", NAMESRV_ADDR="127.0.0.9:1")
    done = run("topicRoute", "-t", "T", "--address-server", "http://127.0.0.1:1/ns", env=env)
    assert done.returncode == 3 and "address server http://127.0.0.1:1/ns" in done.stderr


def test_a_developers_own_configuration_cannot_leak_into_the_tests(tmp_path):
    """The suite's environment (tests/conftest.py) points NSCTL_CONFIG at a path that cannot
    exist, so a ~/.config/nsctl/config.toml (here: a broken one) changes nothing; the contract
    matrix's cells inherit that environment."""
    from tests.cli.situations import ENV

    assert not Path(ENV["NSCTL_CONFIG"]).exists() and "NSCTL_CONTEXT" not in ENV
    own = tmp_path / ".config" / "nsctl" / "config.toml"
    own.parent.mkdir(parents=True)
    own.write_text('current-context = "mine"\n[contexts.mine]\nnamesrv = "127.0.0.9:1"\nbad\n')
    env = {**ENV, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    done = run("topicRoute", "-t", "T", "-n", DEAD, "--verbose", "--retries", "0", env=env)
    assert done.returncode == 3 and f"NameServers {DEAD} (from option)" in done.stderr
