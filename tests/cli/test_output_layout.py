"""Tables on pipes and terminals: piped tables never wrap and carry no trailing spaces; on a
narrow terminal no name or address is split; the live `watch` view always shows the newest
change. Terminals are real pseudo-terminals of the size under test."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from nsctl.client import NameServerClient
from nsctl.server import EmbeddedNameServer
from tests.demo_server import NSCTL, demo_addresses, demo_server

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
#: Names the demo cluster puts in tables (its brokers' addresses are added once it runs).
DEMO_NAMES = ["DemoCluster", "broker-a", "broker-b", "DemoTopic"]
TABLE_COMMANDS = [
    ["clusterList"],
    ["topicRoute", "-t", "DemoTopic"],
    ["topicList"],
    ["topicClusterList", "-t", "DemoTopic"],
    ["check"],
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("demo")) as address:
        yield address


@pytest.fixture(scope="module")
def tokens(demo) -> list[str]:
    """The demo's broker addresses (a master, a's slave, b's master), then its names."""
    return [*demo_addresses(demo), *DEMO_NAMES]


def spawn_in_terminal(argv: list[str], columns: int, lines: int) -> tuple[subprocess.Popen, int]:
    """Start argv with stdin/stdout/stderr on a new pseudo-terminal of that size."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(lines), "TERM": "xterm"}
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    return process, master


def read_available(master: int, until: float) -> bytes:
    out = b""
    while time.monotonic() < until:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            out += chunk
    return out


def run_in_terminal(argv: list[str], columns: int, lines: int = 50) -> str:
    process, master = spawn_in_terminal(argv, columns, lines)
    try:
        out = read_available(master, time.monotonic() + 30)
    finally:
        process.wait(timeout=30)
        os.close(master)
    assert process.returncode == 0, out
    return ANSI.sub(b"", out).decode().replace("\r\n", "\n")


@pytest.mark.parametrize("argv", TABLE_COMMANDS, ids=lambda a: a[0])
def test_piped_tables_do_not_wrap_and_have_no_trailing_spaces(demo, tokens, argv):
    result = subprocess.run(
        [*NSCTL, *argv, "-n", demo],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "40"},  # even a narrow COLUMNS must not wrap a pipe
    )
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert line == line.rstrip(), repr(line)
    cells = [c.strip() for line in result.stdout.splitlines() for c in line.split("│")]
    if argv[0] == "topicRoute":  # wider than 80 columns, yet one line per broker
        assert f"master {tokens[0]}, slave 1 {tokens[1]}" in cells
    if argv[0] == "clusterList":  # one line per broker, however many columns
        rows = [line for line in result.stdout.splitlines() if "DemoCluster" in line]
        assert len(rows) == 3 and tokens[1] in rows[1], result.stdout
    assert not any("\x1b" in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("columns", [60, 40])
@pytest.mark.parametrize("argv", TABLE_COMMANDS, ids=lambda a: a[0])
def test_narrow_terminals_never_split_a_name_or_an_address(demo, tokens, argv, columns):
    screen = run_in_terminal([*NSCTL, *argv, "-n", demo], columns)
    cells = {c.strip() for line in screen.splitlines() for c in re.split(r"[│┃,]", line)}
    words = {w for line in screen.splitlines() for w in re.split(r"[\s│┃,]+", line)}
    expected = {
        "clusterList": tokens[:6],
        "topicRoute": tokens[:6],
        "topicList": ["DemoTopic"],
        "topicClusterList": ["DemoCluster"],
        "check": [demo],
    }[argv[0]]
    for token in expected:
        assert token in words or token in cells, (token, screen)
    for fragment in ("127.0.0.", "DemoClust", "broker-"):
        assert fragment not in words - set(tokens) - {demo}, screen


def test_a_free_text_value_still_fits_a_narrow_terminal(demo):
    value = "x" * 120
    with NameServerClient(demo) as client:
        client.put_kv_config("LayoutTest", "long", value)
    screen = run_in_terminal([*NSCTL, "getKVList", "-s", "LayoutTest", "-n", demo], 60)
    assert max(len(line) for line in screen.splitlines()) <= 60, screen
    assert "".join(re.findall(r"x+", screen)) == value


def frames(stream: bytes) -> list[str]:
    """The live view's frames: rich moves the cursor up over the previous frame to redraw."""
    parts = re.split(rb"(?:\x1b\[2K\x1b\[1A)+\x1b\[2K", stream)
    return [ANSI.sub(b"", part).decode(errors="replace").replace("\r", "") for part in parts]


def test_live_watch_on_120x40_always_shows_the_newest_change(tmp_path):
    with (
        EmbeddedNameServer(port=0, kv_config_path=tmp_path / "kv.json") as ns,
        NameServerClient(ns.address) as client,
    ):
        argv = [*NSCTL, "watch", "-s", "Busy", "--cluster", "-n", ns.address]
        process, master = spawn_in_terminal([*argv, "--interval", "0.1"], 120, 40)
        stream = b""
        try:
            stream += read_available(master, time.monotonic() + 3)
            # 45 keys: the namespace's state table alone gets taller than the terminal
            for i in range(45):
                client.put_kv_config("Busy", f"key-{i:02d}", f"value {i}")
                stream += read_available(master, time.monotonic() + 0.15)
            # a loaded machine may lag: wait (bounded) for the view to show the last change
            deadline = time.monotonic() + 30
            while b'"key": "key-44"' not in ANSI.sub(b"", stream) and time.monotonic() < deadline:
                stream += read_available(master, time.monotonic() + 0.2)
            stream += read_available(master, time.monotonic() + 0.5)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=10)
            os.close(master)
    for frame in frames(stream):
        assert len(frame.rstrip("\n").split("\n")) <= 40, frame
    last = frames(stream)[-1]
    assert len(last.rstrip("\n").split("\n")) <= 40, last
    assert '"key": "key-44"' in last, last
    assert '"key": "key-42"' in last, last  # the log keeps a few of the latest, not just one
    assert "more lines: a taller terminal shows them" in last
    assert "Traceback" not in ANSI.sub(b"", stream).decode(errors="replace")
