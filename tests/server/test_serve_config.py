"""`nsctl serve`'s settings: the `-c` file is read as Java reads it, and a value that cannot be
used is a usage error (exit 2, one stderr line naming the key), never a traceback or a silent
default. The parsing function is fuzzed with hypothesis; a few real processes check the exit."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsctl.cli.commands.serve import build_config
from nsctl.server.config import DEFAULTS, ConfigError

NSCTL = [sys.executable, "-m", "nsctl.cli.main"]


def write(tmp_path: Path, data: bytes, name: str = "namesrv.properties") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- the -c file, read as Java reads it ------------------------------------------------------


def test_an_iso_8859_1_file_with_escapes_continuations_and_comments(tmp_path):
    data = (
        b"# a comment\n! another\n"
        b"productEnvName = caf\xe9 \\u00e0 la carte\n"  # ISO-8859-1 byte and a \u escape
        b"orderMessageEnable:TRUE\n"
        b"scanNotActiveBrokerInterval 2500\n"
        b"clusterTest=fal\\\n    se\n"  # a continuation
        b"myOwnKey=kept\\u0021\n"
    )
    config = build_config(config_file=write(tmp_path, data))
    assert config["productEnvName"] == "caf\u00e9 \u00e0 la carte"
    assert config["orderMessageEnable"] is True
    assert config["scanNotActiveBrokerInterval"] == 2500
    assert config["clusterTest"] is False
    assert "myOwnKey=kept!\n" in config.properties_text()  # an extra key is reported, as Java


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (b"listenPort=abc", "listenPort"),
        (b"listenPort=70000", "listenPort"),
        (b"orderMessageEnable=maybe", "orderMessageEnable"),
        (b"scanNotActiveBrokerInterval=-5", "scanNotActiveBrokerInterval"),
        (b"waitSecondsForService=-1", "waitSecondsForService"),
        (b"serverChannelMaxIdleTimeSeconds=99999999999", "serverChannelMaxIdleTimeSeconds"),
        (b"kvConfigPath=", "kvConfigPath"),
        (b"kvConfigPath=.", "kvConfigPath"),
        (b"kvConfigPath=/tmp/x\\u0000y", "kvConfigPath"),
        (b"productEnvName=\\uD800", "productEnvName"),
    ],
)
def test_a_value_that_cannot_be_used_is_an_error_naming_the_key(tmp_path, line, key):
    path = write(tmp_path, line + b"\n")
    with pytest.raises(ConfigError) as caught:
        build_config(config_file=path)
    message = str(caught.value)
    assert caught.value.key == key
    assert message.startswith(f"-c {path}: {key}: "), message
    assert "\n" not in message


def test_a_malformed_escape_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path, b"a=\\u12\n")
    with pytest.raises(ConfigError, match=r"^-c .*namesrv.properties: malformed \\uxxxx"):
        build_config(config_file=path)


def test_an_unreadable_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        build_config(config_file=tmp_path)  # a directory


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"kv_config_path": Path("")}, "--kv-config-path"),
        ({"kv_config_path": "."}, "--kv-config-path"),
        ({"kv_config_path": "/tmp/"}, "--kv-config-path"),
        ({"listen": ""}, "--listen"),
        ({"port": -1}, "--port"),
        ({"scan_interval": math.nan}, "--scan-interval"),
        ({"scan_interval": -1.0}, "--scan-interval"),
        ({"scan_interval": 0.0}, "--scan-interval"),
        ({"broker_expire": math.inf}, "--broker-expire"),
        ({"idle_timeout": -0.5}, "--idle-timeout"),
        ({"admin_allow": ["10.0.0.0/33"]}, "--admin-allow"),
    ],
)
def test_a_bad_option_is_an_error_naming_the_option(options, named):
    with pytest.raises(ConfigError) as caught:
        build_config(**options)
    assert str(caught.value).startswith(f"{named}: "), str(caught.value)


def test_the_command_line_wins_over_the_file(tmp_path):
    path = write(tmp_path, b"listenPort=1234\nkvConfigPath=/srv/kv.json\n")
    config = build_config(config_file=path, port=0, kv_config_path=tmp_path / "kv.json")
    assert config["listenPort"] == 0
    assert config["kvConfigPath"] == str(tmp_path / "kv.json")
    assert build_config(config_file=path)["listenPort"] == 1234


# --- fuzz: random options and files, never anything but ConfigError --------------------------

KEYS = sorted(DEFAULTS)
numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70).map(float),
)
lines = st.one_of(
    st.binary(max_size=60),
    st.tuples(st.sampled_from(KEYS), st.sampled_from([b"=", b":", b" ", b" = "]), st.binary()).map(
        lambda t: t[0].encode() + t[1] + t[2]
    ),
    st.tuples(st.sampled_from(KEYS), st.text(max_size=30)).map(
        lambda t: (
            t[0] + "=" + "".join(f"\\u{ord(c):04x}" if ord(c) > 0xFF else c for c in t[1])
        ).encode("latin-1", "replace")
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file_lines=st.one_of(st.none(), st.lists(lines, max_size=8)),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    listen=st.one_of(st.none(), st.text(max_size=20)),
    port=st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    kv_config_path=st.one_of(st.none(), st.text(max_size=30)),
    scan_interval=numbers,
    broker_expire=numbers,
    idle_timeout=numbers,
    order_message_enable=st.booleans(),
    admin_allow=st.one_of(st.none(), st.lists(st.text(max_size=20), max_size=3)),
)
def test_fuzz_options_and_files_fail_only_with_config_error(
    tmp_path, file_lines, newline, **options
):
    config_file = None
    if file_lines is not None:
        config_file = write(tmp_path, newline.join(file_lines), "fuzz.properties")
    try:
        config = build_config(config_file=config_file, **options)
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message
        return
    # What was taken is usable: the text a GET_NAMESRV_CONFIG answer carries encodes.
    config.properties_text().encode("utf-8")
    assert 0 <= config.number("listenPort") <= 65535
    assert config.number("scanNotActiveBrokerInterval") >= 1


# --- real processes: exit 2 with one line -----------------------------------------------------


def serve(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NAMESRV_ADDR"}
    env["HOME"] = str(tmp_path)  # nothing may land in the real ~/namesrv
    return subprocess.run(
        [*NSCTL, "serve", *([] if "--port" in args else ["--port", "0"]), *args],
        capture_output=True, text=True, timeout=60, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"listenPort=abc\n", "listenPort"),
        (b"orderMessageEnable=maybe\n", "orderMessageEnable"),
        (b"kvConfigPath=\n", "kvConfigPath"),
        (
            b"productEnvName=caf\xe9\nscanNotActiveBrokerInterval=-1\n",
            "scanNotActiveBrokerInterval",
        ),
    ],
)
def test_serve_with_a_bad_file_exits_2_with_one_line(tmp_path, data, key):
    path = write(tmp_path, data)
    done = serve("-c", str(path), tmp_path=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"nsctl serve: -c {path}: {key}: "), done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--kv-config-path", ""], "nsctl serve: --kv-config-path: kvConfigPath: "),
        (["--kv-config-path", "."], "nsctl serve: --kv-config-path: kvConfigPath: "),
        (["--scan-interval", "nan"], "nsctl serve: --scan-interval: "),
        (["--idle-timeout", "-1"], "nsctl serve: --idle-timeout: "),
        (["--port", "abc"], "nsctl: Invalid value for '--port'"),
    ],
)
def test_serve_with_a_bad_option_exits_2_with_one_line(tmp_path, args, named):
    done = serve(*args, tmp_path=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(named), done.stderr
