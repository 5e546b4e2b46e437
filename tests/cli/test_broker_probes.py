"""`check --probe-brokers` and `watch --probe-brokers`: a broker the NameServer lists but that
does not answer (registered at a silent or dead loopback address) is caught, where plain
`check` and plain `watch` see nothing wrong."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from nsctl.cli.views.watch import watch_rows
from nsctl.client.snapshot import Subject
from tests.broker_standins import refused_address
from tests.cli.broker_setup import nsctl
from tests.cli.conftest import NSCTL


def check_json(registry, *args):
    result = nsctl(registry, "check", "-o", "json", *args)
    return result.returncode, json.loads(result.stdout), result


@pytest.mark.parametrize("fault", ["silent", "refused", "garbage", "error"])
def test_check_catches_a_listed_broker_that_does_not_answer(registry, stand_ins, fault):
    good = stand_ins.add("answer")
    bad = refused_address() if fault == "refused" else stand_ins.add(fault)
    registry.register("broker-a", good)
    registry.register("broker-b", bad)
    namesrv = registry.ns.address

    code, report, _ = check_json(registry, "--expect-brokers", "2")
    assert code == 0 and report["healthy"] and "brokers" not in report

    code, report, _ = check_json(registry, "--probe-brokers")
    assert code == 4 and not report["healthy"]
    by_address = {b["address"]: b for b in report["brokers"]}
    assert by_address[good] == {
        "address": good,
        "name": "broker-a",
        "id": 0,
        "cluster": "DefaultCluster",
        "listedBy": [namesrv],
        "reachable": True,
        "latencyMs": by_address[good]["latencyMs"],
        "error": None,
    }
    assert by_address[good]["latencyMs"] >= 0
    assert by_address[bad]["reachable"] is False and by_address[bad]["error"]
    assert report["failures"] == [
        f"broker-b {bad} (id 0) listed by {namesrv} does not answer: {by_address[bad]['error']}"
    ]

    # Composes: two live masters that really answer.
    code, report, _ = check_json(registry, "--probe-brokers", "--expect-brokers", "2")
    assert code == 4
    assert f"{namesrv}: 1 live master(s) that answer, expected 2" in report["failures"]
    code, report, _ = check_json(registry, "--probe-brokers", "--expect-brokers", "1")
    assert report["failures"] == [f for f in report["failures"] if "does not answer" in f]


def test_check_probe_brokers_all_answer_and_text_outputs(registry, stand_ins):
    registry.register("broker-a", stand_ins.add("answer"))
    registry.register("broker-a", stand_ins.add("answer"), broker_id=1)
    code, report, _ = check_json(registry, "--probe-brokers", "--expect-brokers", "1")
    assert code == 0 and report["healthy"]
    assert [(b["name"], b["id"], b["reachable"]) for b in report["brokers"]] == [
        ("broker-a", 0, True),
        ("broker-a", 1, True),
    ]
    plain = nsctl(registry, "check", "--probe-brokers", "-o", "plain")
    lines = plain.stdout.splitlines()
    assert plain.returncode == 0 and lines[-1] == "OK"
    assert [line.split("\t")[:5] for line in lines if line.startswith("broker\t")] == [
        ["broker", "broker-a", b["address"], str(b["id"]), "DefaultCluster"]
        for b in report["brokers"]
    ]
    table = nsctl(registry, "check", "--probe-brokers")
    assert table.returncode == 0 and "Brokers" in table.stdout


def test_check_probe_brokers_text_failure_line(registry, stand_ins):
    silent = stand_ins.add("silent")
    registry.register("broker-x", silent)
    result = nsctl(registry, "check", "--probe-brokers", "-o", "plain", timeout="0.5")
    assert result.returncode == 4
    assert result.stdout.splitlines()[-1] == (
        f"FAIL broker-x {silent} (id 0) listed by {registry.ns.address} does not answer: "
        f"no answer from {silent} within 0.5s"
    )
    assert "Traceback" not in result.stderr


def test_watch_reports_brokers_going_unreachable_and_back(registry, stand_ins):
    good = stand_ins.add("answer")
    dead = refused_address()
    registry.register("broker-a", good)
    registry.register("broker-b", dead)
    process = subprocess.Popen(
        [
            *NSCTL,
            "watch",
            "--probe-brokers",
            "-o",
            "json",
            "--interval",
            "0.3",
            "--request-timeout",
            "0.5",
            "--timeout",
            "30",
            "-n",
            registry.ns.address,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        events = []

        def until(kind):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                assert line, process.stderr.read()
                events.append(json.loads(line))
                if events[-1]["kind"] == kind:
                    return events[-1]
            raise AssertionError(f"no {kind} event in {events}")

        down = until("broker_unreachable")
        assert down["address"] == dead and down["broker"] == "broker-b"
        assert down["listedBy"] == [registry.ns.address] and down["error"]
        # The broker comes back on its address: reported once.
        stand_ins.add("answer", port=int(dead.rsplit(":", 1)[1]))
        up = until("broker_reachable")
        assert up["address"] == dead and "error" not in up
        kinds = [e["kind"] for e in events]
        assert kinds.count("broker_unreachable") == 1
        assert all(e.get("address") != good for e in events if e["kind"].startswith("broker_"))
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_live_view_marks_brokers_that_do_not_answer():
    snapshot = {"clusters": {"C": {"b": {"0": "h:1", "1": "h:2"}}}}
    rows = watch_rows(Subject("cluster"), snapshot, {"h:2"})
    assert rows == [("b", ("C", "b", "0=h:1, 1=h:2 (DOWN: does not answer)"))]


def test_watch_live_view_marks_a_silent_broker_down(registry, stand_ins):
    silent = stand_ins.add("silent")
    registry.register("broker-q", silent)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [
            *NSCTL,
            "watch",
            "--probe-brokers",
            "-n",
            registry.ns.address,
            "--interval",
            "0.3",
            "--request-timeout",
            "0.5",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200", "LINES": "60", "TERM": "xterm"},
    )
    os.close(slave)
    screen = b""

    def read_until(needle: bytes, timeout: float = 20.0) -> None:
        nonlocal screen
        deadline = time.monotonic() + timeout
        while needle not in screen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
        assert needle in screen, screen[-3000:]

    try:
        # A frame may arrive in several reads: wait for each part on its own.
        read_until(b"DOWN: does not answer")
        read_until(b"broker_unreachable")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
        os.close(master)
    assert code == 0 and b"Traceback" not in screen
