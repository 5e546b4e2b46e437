"""Replay every captured request against our server and compare with the real Java answers.

Requests are sent byte for byte, in the order the Java server processed them (the order of its
answers: a client that pipelines two requests can see them answered out of order), each on a
client connection standing for the captured connection id (a broker's registration lives as
long as its connection). A connection is closed, and the server's cleanup awaited, once the
capture no longer uses it and the captured step (one command of the capture script, e.g.
"register master+slave, then the broker process exits") is over: the connections of one step
close together, as when a process exits. After a one-way request a read-only barrier request on
the same connection makes sure it was processed before anything is sent on another connection.

Responses are compared after decoding: code, ext fields, remark, and the body parsed with the
fastjson-tolerant reader (list order aside). 5.3.3 must match exactly, except where the Java
answer is not deterministic (an exception's text, paths and the port in the config dump).
4.9.8 is compared with the allow-list `ALLOWED_4_9_8_DIFFERENCES`: places where 4.9.8 behaves
differently and the server follows 5.3.3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from nsctl.protocol import dialect, frame
from nsctl.protocol.codes import ResponseCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.properties import parse_properties
from tests.conftest import frames_dir
from tests.server.wire import WireClient, request

#: Where 4.9.8 answers differently and the server deliberately follows 5.3.3.
ALLOWED_4_9_8_DIFFERENCES = {
    "version": "responses carry the server's own version ordinal: 479, not 409",
    "unknown-code": "unknown request codes get code 3 ' request type N not supported' (4.9.8 "
    "sends nothing)",
    "faq-url": "TOPIC_NOT_EXIST remarks end with 5.3.3's FAQ URL",
    "5x-fields": "bodies carry the fields 5.x adds: BrokerData.enableActingMaster/zoneName, "
    "DataVersion.stateVersion",
    "5x-config-keys": "GET_NAMESRV_CONFIG reports the 5.3.3 key set, a superset of 4.9.8's",
}

FIELDS_ADDED_BY_5X = {"enableActingMaster", "zoneName", "stateVersion"}
FAQ_4_9_8 = "\nSee http://rocketmq.apache.org/docs/faq/ for further details."
FAQ_5_3_3 = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
#: Config values that depend on the host, paths or the port of the capture.
HOST_SPECIFIC_CONFIG = {
    "bindAddress",
    "listenPort",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
}


@dataclass
class Exchange:
    nn: int
    conn: int
    name: str
    step: str
    request_raw: bytes
    request: RemotingCommand
    response: RemotingCommand | None


def load_exchanges(version: str) -> list[Exchange]:
    folder = frames_dir(version)
    metas = [json.loads(line) for line in (folder / "frames.jsonl").read_text().splitlines()]
    responses = {
        m["nn"]: frame.decode((folder / m["file"]).read_bytes())
        for m in metas
        if m["kind"] == "response"
    }
    answered_at = {m["nn"]: m["time"] for m in metas if m["kind"] == "response"}
    requests = [m for m in metas if m["kind"] == "request"]
    # Processing order: when answered, else (one-way, unanswered) when sent.
    requests.sort(key=lambda m: answered_at.get(m["nn"], m["time"]))
    exchanges = []
    for meta in requests:
        raw = (folder / meta["file"]).read_bytes()
        exchanges.append(
            Exchange(
                nn=meta["nn"],
                conn=meta["conn"],
                name=meta["file"],
                step=meta["desc"],
                request_raw=raw,
                request=frame.decode(raw),
                response=responses.get(meta["nn"]),
            )
        )
    return exchanges


Result = tuple[Exchange, RemotingCommand | None]


def replay(address: str, exchanges: list[Exchange]) -> list[Result]:
    last_use = {e.conn: i for i, e in enumerate(exchanges)}
    clients: dict[int, WireClient] = {}
    results = []
    try:
        for index, exchange in enumerate(exchanges):
            client = clients.get(exchange.conn)
            if client is None:
                client = clients[exchange.conn] = WireClient(address)
            client.send_raw(exchange.request_raw)
            if exchange.request.is_oneway:
                # Nothing comes back; a read-only barrier proves the request was processed.
                barrier = client.call(request(319))
                assert barrier.code == ResponseCode.SUCCESS
                results.append((exchange, None))
            else:
                ours = client.recv()
                assert ours.opaque == exchange.request.opaque, exchange.name
                results.append((exchange, ours))
            step_over = index + 1 == len(exchanges) or exchanges[index + 1].step != exchange.step
            if step_over:
                for conn in [c for c in clients if last_use[c] <= index]:
                    clients.pop(conn).close_and_wait()
    finally:
        for client in clients.values():
            client.close()
    return results


# ----------------------------------------------------------------------------------------------
# Comparison


def normalize(value):
    """Order-insensitive form of parsed JSON: lists are sorted by their canonical text."""
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalize(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def drop_keys(value, keys: set[str], reference):
    """Remove `keys` from `value` wherever `reference` (the Java answer) does not have them."""
    if isinstance(value, dict) and isinstance(reference, dict):
        return {
            k: drop_keys(v, keys, reference.get(k))
            for k, v in value.items()
            if k in reference or k not in keys
        }
    if isinstance(value, list) and isinstance(reference, list) and reference:
        return [drop_keys(v, keys, reference[0]) for v in value]
    return value


def ext_of(command: RemotingCommand, loose: bool) -> dict[str, str] | None:
    # The ROCKETMQ header cannot tell an empty map from none, so compare those loosely.
    if loose:
        return dict(command.ext_fields or {})
    return command.ext_fields


def compare(exchange: Exchange, ours: RemotingCommand | None, *, java_4: bool) -> list[str]:
    """Differences between our answer and the captured one (empty list = equal)."""
    theirs = exchange.response
    if exchange.request.is_oneway:
        return [] if ours is None else ["answered a one-way request"]
    if theirs is None:
        # Only 4.9.8 leaves requests unanswered: unknown codes (allow-list "unknown-code").
        assert java_4, f"{exchange.name}: no captured response for a two-way request"
        code = exchange.request.code
        expected = f" request type {code} not supported"
        if ours.code == ResponseCode.REQUEST_CODE_NOT_SUPPORTED and ours.remark == expected:
            return []
        return [f"unknown code {code}: got {ours.code} {ours.remark!r}"]

    problems = []
    if ours.code != theirs.code:
        problems.append(f"code {ours.code} != {theirs.code} ({ours.remark!r} / {theirs.remark!r})")
    if ours.flag != theirs.flag:
        problems.append(f"flag {ours.flag} != {theirs.flag}")
    if ours.version != (479 if java_4 else theirs.version):  # allow-list "version"
        problems.append(f"version {ours.version}")

    loose = exchange.request.serialize_type != theirs.serialize_type or (
        exchange.request.serialize_type.name == "ROCKETMQ"
    )
    if ext_of(ours, loose) != ext_of(theirs, loose):
        problems.append(f"ext {ours.ext_fields} != {theirs.ext_fields}")

    their_remark = theirs.remark
    if java_4 and their_remark and their_remark.endswith(FAQ_4_9_8):  # allow-list "faq-url"
        their_remark = their_remark[: -len(FAQ_4_9_8)] + FAQ_5_3_3
    if their_remark and their_remark.startswith("java."):
        # A Java exception's text: only say something went wrong.
        if not ours.remark:
            problems.append("no remark on a failure")
    elif ours.remark != their_remark:
        problems.append(f"remark {ours.remark!r} != {their_remark!r}")

    problems.extend(compare_bodies(exchange, ours.body, theirs.body, java_4=java_4))
    return problems


def compare_bodies(exchange: Exchange, ours: bytes | None, theirs: bytes | None, *, java_4: bool):
    if not ours and not theirs:
        return []
    if not ours or not theirs:
        return [f"body {ours!r} != {theirs!r}"]
    if exchange.request.code == 319:
        return compare_config(ours, theirs, java_4=java_4)
    mine, java = dialect.loads(ours), dialect.loads(theirs)
    if java_4:  # allow-list "5x-fields"
        mine = drop_keys(mine, FIELDS_ADDED_BY_5X, java)
    if normalize(mine) != normalize(java):
        return [f"body {ours.decode()} != {theirs.decode()}"]
    return []


def compare_config(ours: bytes, theirs: bytes, *, java_4: bool) -> list[str]:
    mine = parse_properties(ours.decode())
    java = parse_properties(theirs.decode())
    problems = []
    if java_4:  # allow-list "5x-config-keys": ours is a superset
        if not set(java) <= set(mine):
            problems.append(f"config keys missing: {sorted(set(java) - set(mine))}")
    elif set(mine) != set(java):
        problems.append(f"config keys differ: {sorted(set(mine) ^ set(java))}")
    if ours.decode() != "".join(f"{k}={v}\n" for k, v in sorted(mine.items())):
        problems.append("config text is not sorted key=value lines")
    for key in set(mine) & set(java) - HOST_SPECIFIC_CONFIG:
        if mine[key] != java[key]:
            problems.append(f"config {key}={mine[key]} != {java[key]}")
    return problems


# ----------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("version", ["5.3.3", "4.9.8"])
def test_replay_matches_captured_java_answers(nameserver, version: str):
    exchanges = load_exchanges(version)
    results = replay(nameserver.address, exchanges)
    assert len(results) == len(exchanges)
    failures = []
    for exchange, ours in results:
        problems = compare(exchange, ours, java_4=version == "4.9.8")
        if problems:
            failures.append(f"{exchange.name}: " + "; ".join(problems))
    assert not failures, "\n".join(failures)


def test_replay_compares_something_real():
    """Guard against a vacuous replay: the captures hold the exchanges the comparison needs."""
    exchanges = load_exchanges("5.3.3")
    codes = {e.request.code for e in exchanges}
    assert {100, 101, 102, 103, 104, 105, 106, 205, 206, 216, 219, 224, 318, 319, 322} <= codes
    assert sum(1 for e in exchanges if e.request.is_oneway) >= 5
    assert sum(1 for e in exchanges if e.response is not None and e.response.body) >= 30


def test_comparison_detects_a_wrong_answer():
    exchange = next(e for e in load_exchanges("5.3.3") if e.name.startswith("024_"))
    body = exchange.response.body.replace(b'"perm":6', b'"perm":4')
    wrong = exchange.response.make_response(body=body)
    wrong.flag, wrong.version, wrong.ext_fields = 1, 479, exchange.response.ext_fields
    assert compare(exchange, wrong, java_4=False)
    assert not compare(exchange, exchange.response, java_4=False)


def test_fixture_dir_is_inside_tests():
    assert Path(frames_dir("5.3.3")).is_relative_to(Path(__file__).resolve().parents[1])
