"""The stand-in's tables answer mqadmin's captured requests as the real 5.3.3 brokers did.

Every request mqadmin sent to broker-a and broker-b in tests/data/frames-topic-admin-5.3.3 is
fed, in order, to a fresh `BrokerTables` of that broker: the code and remark must be the
broker's, and an accepted topic write must ask for the incremental registration the broker
sent (the same single topic, the same DataVersion counter). Pure: no sockets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsctl.protocol.broker_models import BrokerRuntimeInfo, TopicStatsTable
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode
from nsctl.protocol.register import RegisterBrokerBody, TopicConfig
from nsctl.standin import VERSION_DESC, BrokerTables
from nsctl.standin.tables import UNSET_REMARK

FOLDER = Path(__file__).resolve().parent.parent / "data" / "frames-topic-admin-5.3.3"


def _metas() -> list[dict]:
    return [json.loads(line) for line in (FOLDER / "frames.jsonl").read_text().splitlines()]


def _frame(meta: dict):
    return decode((FOLDER / meta["file"]).read_bytes())


def _exchanges(broker: str) -> list[tuple[dict, dict, dict | None]]:
    """(request, response, incremental registration that followed) of one broker, in order."""
    metas = _metas()
    responses = {(m["nn"]): m for m in metas if m["kind"] == "response"}
    found = []
    for index, meta in enumerate(metas):
        if meta["kind"] != "request" or meta["peer"] != "broker":
            continue
        if meta.get("broker_name") != broker:
            continue
        follow = None
        for later in metas[index + 1 :]:
            if later["kind"] != "request" or later.get("broker_name") != broker:
                continue
            incremental = later["peer"] == "broker->namesrv" and not later.get("periodic")
            if incremental and later["request_name"] == "REGISTER_BROKER":
                follow = later
            break
        found.append((meta, responses[meta["nn"]], follow))
    return found


@pytest.mark.parametrize("broker", ["broker-a", "broker-b"])
def test_tables_answer_mqadmins_requests_as_the_broker_did(broker: str) -> None:
    tables = BrokerTables("DefaultCluster", broker, now_ms=1_000)
    exchanges = _exchanges(broker)
    assert len(exchanges) >= 8
    registrations = 0
    for step, (request_meta, response_meta, follow) in enumerate(exchanges):
        request, expected = _frame(request_meta), _frame(response_meta)
        reply = tables.answer(request, now_ms=2_000 + step)
        got = reply.response
        where = request_meta["file"]
        assert (got.code, got.remark) == (expected.code, expected.remark), where
        assert got.opaque == request.opaque and got.flag & 1, where
        assert (got.body or b"") == (expected.body or b""), where
        if follow is None:
            assert reply.register is None, where
            continue
        registrations += 1
        sent = _frame(follow)
        body = RegisterBrokerBody.decode_request(sent.body, compressed=False, version=sent.version)
        assert reply.register is not None, where
        assert body.topics == {reply.register.topic_name: reply.register}, where
        assert tables.topic_version.counter == body.data_version.counter, where
    assert registrations >= 4


def test_the_success_remark_of_a_topic_write_is_the_brokers_default() -> None:
    tables = BrokerTables("DefaultCluster", "broker-a", now_ms=0)
    (meta, _, _) = next(e for e in _exchanges("broker-a") if e[0]["request_name"].startswith("UPD"))
    assert tables.answer(_frame(meta), now_ms=1).response.remark == UNSET_REMARK


def test_an_unchanged_topic_write_bumps_nothing_and_registers_nothing() -> None:
    tables = BrokerTables("DefaultCluster", "broker-a", now_ms=0)
    (meta, _, _) = next(e for e in _exchanges("broker-a") if e[0]["request_name"].startswith("UPD"))
    first = tables.answer(_frame(meta), now_ms=1)
    version = tables.topic_version
    again = tables.answer(_frame(meta), now_ms=2)
    assert first.register is not None and again.register is None
    assert again.response.code == 0 and tables.topic_version == version


def test_deleting_a_topic_bumps_the_version_only_when_it_existed() -> None:
    tables = BrokerTables("DefaultCluster", "broker-a", now_ms=0)
    exchanges = _exchanges("broker-a")
    deletes = [e for e in exchanges if e[0]["request_name"] == "DELETE_TOPIC_IN_BROKER"]
    before = tables.topic_version
    assert tables.answer(_frame(deletes[0][0]), now_ms=1).response.code == 0
    assert tables.topic_version == before  # AdminT was never created here


def _ask(code: int, **ext: str) -> RemotingCommand:
    return RemotingCommand(code=code, language="PYTHON", version=479, opaque=7, ext_fields=ext)


def test_reads_of_unknown_topics_and_unknown_codes() -> None:
    tables = BrokerTables("C", "b", now_ms=0)
    stats = tables.answer(_ask(202, topic="Nope"), now_ms=1).response
    assert (stats.code, stats.remark) == (17, "topic[Nope] not exist")
    config = tables.answer(_ask(351, topic="Nope", lo="true"), now_ms=1).response
    assert (config.code, config.remark) == (17, "No topic in this broker. topic: Nope")
    other = tables.answer(_ask(310), now_ms=1).response
    assert (other.code, other.remark) == (3, " request type 310 not supported")
    missing = tables.answer(_ask(17), now_ms=1).response
    assert (missing.code, missing.remark) == (1, "the custom field <topic> is null")


def test_runtime_figures_are_honest() -> None:
    tables = BrokerTables("C", "b", now_ms=0, boot_ms=0)
    answer = tables.answer(_ask(28), now_ms=90_061_000).response
    table = BrokerRuntimeInfo.decode(answer.body)
    assert table.version == VERSION_DESC and "stand-in" in VERSION_DESC
    assert table.active and table.get("msgPutTotalTodayNow") == "0"
    assert table.get("runtime") == "[ 1 days, 1 hours, 1 minutes, 1 seconds ]"


def test_topic_stats_list_every_queue_empty() -> None:
    tables = BrokerTables("C", "b", now_ms=0, topics={"T": TopicConfig("T", 2, 3, 6)})
    stats = TopicStatsTable.decode(tables.answer(_ask(202, topic="T"), now_ms=1).response.body)
    assert sorted(q.queue_id for q in stats.offset_table) == [0, 1, 2]
    assert {o.max_offset for o in stats.offset_table.values()} == {0}
    assert stats.topic_put_tps == 0.0
