"""`nsctl serve --log-format json`: every log record one JSON object per line, with a stable
event name for what operators act on; the ready line on stdout stays text."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.server.events import EVENTS, JsonFormatter
from tests.server.test_broker_allow import ROGUE, ROGUE_REGISTRATION, Client
from tests.server.wire import register_request, request

README = Path(__file__).resolve().parents[2] / "README.md"


def records(process) -> list[dict]:
    lines = [line for line in process.log_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in parsed:
        assert {"time", "level", "logger", "event", "message"} <= set(record)
        assert record["time"].endswith("Z") and "T" in record["time"]
    return parsed


def wait_for(process, name: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in records(process) if r["event"] == name]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no {name} event in {process.log_text()}")


def test_json_log_events(serve_process_factory):
    process = serve_process_factory(
        *("--log-format", "json", "--metrics-port", "0", "--broker-allow", "127.0.0.1"),
        *("--admin-allow", "127.0.0.1/32", "--broker-expire", "0.5", "--scan-interval", "0.1"),
    )
    assert process.address.startswith("127.0.0.1:")  # the ready line was text
    started = wait_for(process, "server.started")
    assert started["address"] == process.address and started["level"] == "INFO"
    assert wait_for(process, "metrics.started")["url"].startswith("http://127.0.0.1:")

    with Client(process.address) as admin:
        ext = {"namespace": "ns", "key": "k", "value": "secret"}
        assert admin.call(request(100, ext)).code == 0
        assert admin.call(request(102, {"namespace": "ns", "key": "k"})).code == 0
        assert admin.call(request(318, None, b"orderMessageEnable=true\n")).code == 0
        assert admin.call(request(318, None, b"kvConfigPath=/tmp/x\n")).code == 16
        assert admin.call(request(318, None, b"noSuchKey=1\n")).code == 0
    with Client(process.address, ROGUE) as rogue:
        assert rogue.call(register_request(**ROGUE_REGISTRATION)).code == 16
        assert rogue.call(request(100, {"namespace": "ns", "key": "k", "value": "v"})).code == 16

    # Registered, then expired (no heartbeat within 0.5 s).
    with Client(process.address) as broker:
        assert broker.call(register_request(broker_name="broker-x")).code == 0
        expired = wait_for(process, "broker.expired")
    assert expired["broker_addr"] == "127.0.0.1:10911" and expired["level"] == "WARNING"
    # Registered, then its connection closes.
    with Client(process.address) as broker:
        assert broker.call(register_request(broker_name="broker-y")).code == 0
    closed = wait_for(process, "broker.unregistered")
    assert closed["reason"] == "connection_closed"
    # A malformed frame drops the connection.
    with socket.create_connection(("127.0.0.1", process.port), timeout=5) as raw:
        raw.sendall(b"\xff\xff\xff\xff")
        assert raw.recv(10) == b""
    dropped = wait_for(process, "connection.dropped")
    assert dropped["reason"] == "malformed_frame"
    assert process.terminate() == 0

    by_event: dict[str, list[dict]] = {}
    for record in records(process):
        by_event.setdefault(record["event"], []).append(record)
    assert {r["broker_name"] for r in by_event["broker.registered"]} == {"broker-x", "broker-y"}
    assert by_event["broker.registered"][0]["cluster"] == "DefaultCluster"
    assert [(r["op"], r["namespace"], r["key"]) for r in by_event["kv.changed"]] == [
        ("put", "ns", "k"),
        ("delete", "ns", "k"),
    ]
    assert all("secret" not in json.dumps(r) for r in by_event["kv.changed"])
    (changed,) = by_event["config.changed"]
    assert changed["changes"] == {"orderMessageEnable": {"old": "false", "new": "true"}}
    assert by_event["config.update_refused"][0]["keys"] == ["kvConfigPath"]
    assert "noSuchKey" in by_event["config.update_ignored"][0]["reasons"]
    (refused,) = by_event["broker.write_refused"]
    assert refused["source"] == ROGUE and refused["broker_name"] == "rogue-broker"
    assert refused["broker_addr"] == "127.0.0.2:10911" and refused["code"] == "REGISTER_BROKER"
    (admin_refused,) = by_event["admin.write_refused"]
    assert admin_refused["source"] == ROGUE and admin_refused["code"] == "PUT_KV_CONFIG"
    assert "server.stopped" in by_event
    assert set(by_event) <= EVENTS | {"log"}


def test_every_event_is_documented():
    readme = README.read_text()
    for name in EVENTS:
        assert f"| `{name}` |" in readme, name


@settings(max_examples=300)
@given(
    st.text(),
    st.dictionaries(st.text(min_size=1, max_size=10), st.one_of(st.text(), st.integers())),
)
def test_any_record_is_one_json_line(message, fields):
    record = logging.LogRecord("nsctl.server", logging.WARNING, __file__, 1, "%s", (message,), None)
    record.event = "broker.write_refused"
    record.fields = fields
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\r" not in line
    parsed = json.loads(line)
    assert parsed["message"] == message and parsed["event"] == "broker.write_refused"
    for key, value in fields.items():
        if key not in ("time", "level", "logger", "event", "message"):
            assert parsed[key] == value
