"""`nsctl watch` and `nsctl check` over real TCP with several embedded NameServers."""

from __future__ import annotations

import json
import os
import pty
import queue
import select
import signal
import subprocess
import threading
import time

import pytest

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer
from tests.cli.conftest import NSCTL, start_broker

pytestmark = pytest.mark.script_launch_mode("subprocess")


@pytest.fixture
def two(tmp_path):
    with (
        EmbeddedNameServer(port=0, kv_config_path=tmp_path / "a.json") as a,
        EmbeddedNameServer(port=0, kv_config_path=tmp_path / "b.json") as b,
    ):
        yield a, b


def check(script_runner, namesrv, *args):
    result = script_runner.run(
        ["nsctl", "check", "-n", namesrv, "-o", "json", *args, "--timeout", "1"]
    )
    return result.returncode, json.loads(result.stdout) if result.stdout else None


def test_check_expectations_pass_and_fail(script_runner, two):
    a, b = two
    broker = start_broker(
        a.address,
        "-c",
        "C1",
        "-b",
        "broker-a",
        "-a",
        "127.0.0.1:10911",
        "-t",
        "T1:4:4:6",
        "-t",
        "RO:4:4:4",
    )
    try:
        code, report = check(
            script_runner, a.address, "--expect-brokers", "1", "-t", "T1", "--expect-cluster", "C1"
        )
        assert code == 0 and report["healthy"], report
        node = report["namesrvs"][0]
        assert node["reachable"] and node["liveMasters"] == 1 and node["topicCount"] >= 2
        assert node["latencyMs"] is not None

        assert check(script_runner, a.address, "--expect-brokers", "2")[0] == 4
        assert check(script_runner, a.address, "--expect-cluster", "Nope")[0] == 4
        code, report = check(script_runner, a.address, "-t", "RO")
        assert code == 4 and "no writable queue" in report["failures"][0]
        assert check(script_runner, a.address, "-t", "Missing")[0] == 4

        both = f"{a.address};{b.address}"
        code, report = check(script_runner, both, "-t", "T1")
        assert code == 4  # B has no route for T1
        assert report["disagreements"] == ["brokers", "topic T1"]
        code, report = check(script_runner, both)
        assert code == 0 and report["disagreements"] == ["brokers"]
        assert check(script_runner, both, "--consistent")[0] == 4

        table = script_runner.run(["nsctl", "check", "-n", both, "--consistent"])
        assert table.returncode == 4
        assert "FAIL NameServers disagree on brokers" in table.stdout
    finally:
        broker.stop()


def test_check_unreachable(script_runner, two):
    a, _ = two
    code, report = check(script_runner, f"{a.address};127.0.0.1:1")
    assert code == 4
    assert [n["reachable"] for n in report["namesrvs"]] == [True, False]
    code, report = check(script_runner, "127.0.0.1:1")
    assert code == 3


class WatchProcess:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*NSCTL, "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.pending: list[dict] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        # A reader thread, because select() on a buffered pipe misses lines already buffered.
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_event(self, kind: str, timeout: float = 15.0, **match) -> dict:
        """The first event of `kind` matching `match`, read or already buffered (events of one
        poll round come in subject order, so a test may ask for them in another order)."""

        def matches(event: dict) -> bool:
            return event["kind"] == kind and all(event.get(k) == v for k, v in match.items())

        for event in self.pending:
            if matches(event):
                self.pending.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"watch ended: {self.process.stderr.read()}")
            event = json.loads(line)
            if matches(event):
                return event
            self.pending.append(event)
        raise AssertionError(f"no {kind} {match} within {timeout} s; saw {self.pending}")

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=10)
        return self.process.returncode, err


def test_watch_piped_follows_changes_divergence_and_restarts(two, tmp_path):
    a, b = two
    watch = WatchProcess(
        "-t",
        "T1",
        "--cluster",
        "-n",
        f"{a.address};{b.address}",
        "--interval",
        "0.2",
        "--request-timeout",
        "0.5",
    )
    try:
        watch.next_event("snapshot", namesrv=a.address, subject="topic")
        broker = start_broker(
            a.address, "-c", "C1", "-b", "broker-a", "-a", "127.0.0.1:10911", "-t", "T1:4:4:6"
        )
        event = watch.next_event("broker_added", namesrv=a.address, subject="cluster")
        assert event["broker"] == "broker-a" and event["addrs"] == {"0": "127.0.0.1:10911"}
        watch.next_event("route_appeared", namesrv=a.address, topic="T1")
        watch.next_event("diverged", topic="T1")
        other = start_broker(
            b.address, "-c", "C1", "-b", "broker-a", "-a", "127.0.0.1:10911", "-t", "T1:4:4:6"
        )
        watch.next_event("converged", topic="T1")

        subprocess.run(
            [*NSCTL, "wipeWritePerm", "-b", "broker-a", "-n", a.address],
            check=True,
            capture_output=True,
        )
        event = watch.next_event("perm_changed", namesrv=a.address)
        assert (event["old"], event["new"]) == (6, 4)

        port = b.port
        b.stop()
        watch.next_event("namesrv_down", namesrv=b.address)
        with EmbeddedNameServer(port=port, kv_config_path=tmp_path / "b2.json") as again:
            watch.next_event("namesrv_up", namesrv=again.address)
            watch.next_event("route_removed", namesrv=again.address, topic="T1")
        broker.stop()
        watch.next_event("broker_removed", namesrv=a.address, subject="cluster")
        other.stop()
    finally:
        code, err = watch.interrupt()
    assert code == 0
    assert "Traceback" not in err


def test_watch_sees_a_broker_expire(tmp_path):
    with EmbeddedNameServer(
        port=0, kv_config_path=tmp_path / "kv.json", broker_expire=1.0, scan_interval=0.2
    ) as ns:
        watch = WatchProcess("--cluster", "-n", ns.address, "--interval", "0.2", "-o", "json")
        try:
            watch.next_event("snapshot")
            with NameServerClient(ns.address) as client:  # registers, then stays silent
                client.register_broker(
                    cluster_name="C",
                    broker_name="silent",
                    broker_addr="127.0.0.1:12345",
                    topic_configs={"A": TopicConfig("A"), "B": TopicConfig("B")},
                )
                watch.next_event("broker_added", broker="silent")
                watch.next_event("broker_removed", broker="silent", timeout=10)
        finally:
            assert watch.interrupt()[0] == 0


def test_watch_until_count_and_timeout(script_runner, two):
    a, _ = two
    pending = WatchProcess(
        "-t", "T9", "-n", a.address, "--interval", "0.2", "--until", "writable", "--timeout", "30"
    )
    broker = start_broker(a.address, "-c", "C", "-b", "b", "-a", "127.0.0.1:1", "-t", "T9")
    try:
        assert pending.process.wait(timeout=20) == 0
    finally:
        broker.stop()
    timed_out = script_runner.run(
        [
            "nsctl",
            "watch",
            "-t",
            "T9",
            "-n",
            a.address,
            "--interval",
            "0.2",
            "--until",
            "writable",
            "--timeout",
            "1",
        ]
    )
    assert timed_out.returncode == 4
    counted = WatchProcess("-s", "ns1", "-n", a.address, "--interval", "0.2", "--count", "2")
    counted.next_event("snapshot")
    subprocess.run(
        [*NSCTL, "putKV", "-s", "ns1", "-k", "a", "-v", "1", "-n", a.address],
        check=True,
        capture_output=True,
    )
    counted.next_event("key_added", key="a", value="1")
    subprocess.run(
        [*NSCTL, "putKV", "-s", "ns1", "-k", "a", "-v", "2", "-n", a.address],
        check=True,
        capture_output=True,
    )
    event = counted.next_event("value_changed", key="a")
    assert (event["old"], event["new"]) == ("1", "2")
    assert counted.process.wait(timeout=10) == 0
    nothing = script_runner.run(["nsctl", "watch", "-n", a.address])
    assert nothing.returncode == 2
    dead = script_runner.run(
        [
            "nsctl",
            "watch",
            "--cluster",
            "-n",
            "127.0.0.1:1",
            "--timeout",
            "0.5",
            "--request-timeout",
            "0.2",
            "-o",
            "plain",
        ]
    )
    assert dead.returncode == 3
    assert "namesrv_down" in dead.stdout


def test_watch_live_view_in_a_terminal(two):
    a, _ = two
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*NSCTL, "watch", "-t", "TT", "--cluster", "-n", a.address, "--interval", "0.2"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "120", "LINES": "60", "TERM": "xterm"},
    )
    os.close(slave)
    screen = b""

    def read_until(needle: bytes, timeout: float = 15.0) -> None:
        nonlocal screen
        deadline = time.monotonic() + timeout
        while needle not in screen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
        assert needle in screen, screen[-2000:]

    try:
        read_until(b"NameServers")
        read_until(b"UP")
        broker = start_broker(
            a.address, "-c", "C7", "-b", "live-broker", "-a", "127.0.0.1:7", "-t", "TT"
        )
        read_until(b"live-broker")
        read_until(b"broker_added")
        broker.stop()
        read_until(b"broker_removed")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
        os.close(master)
    assert code == 0
    assert b"Traceback" not in screen


def test_serve_demo_registers_the_demo_cluster_and_stops_cleanly(tmp_path):
    process = subprocess.Popen(
        [*NSCTL, "serve", "--port", "0", "--demo", "--kv-config-path", str(tmp_path / "kv.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = process.stdout.readline()
        assert ready.startswith("NameServer listening on 127.0.0.1:")
        address = ready.rsplit(" ", 1)[1].strip()
        assert process.stdout.readline().startswith("Demo cluster DemoCluster registered")
        result = subprocess.run(
            [*NSCTL, "clusterList", "-n", address, "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
        )
        document = json.loads(result.stdout)
        table = document["brokerAddrTable"]
        assert sorted(table["broker-a"]["brokerAddrs"]) == ["0", "1"] and "broker-b" in table
        # The demo's brokers are stand-ins that answer, on the addresses they registered.
        assert [b["reachable"] for b in document["brokers"]] == [True, True, True]
        assert all("stand-in" in b["runtime"]["brokerVersionDesc"] for b in document["brokers"])
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "unregistered" in err
