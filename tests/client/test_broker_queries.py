"""Broker queries: requests byte-compared with what mqadmin sent, answers parsed from what a real
5.3.3 broker sent, and the fan-out over loopback stand-ins that answer, refuse, stay silent,
close mid-answer, answer garbage or answer an error code."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from nsctl.client import operations as ops
from nsctl.client.broker_client import AsyncBrokerClient, BrokerClient
from nsctl.client.broker_fanout import listed_brokers, query_brokers, runtime_infos
from nsctl.client.errors import (
    NameServerConnectionError,
    NameServerDataParseError,
    NameServerProtocolError,
    NameServerResponseError,
    NameServerTimeoutError,
    TopicNotFoundError,
)
from nsctl.protocol.broker_models import MessageQueue, TopicOffset, TopicStatsTable
from nsctl.protocol.codes import ResponseCode, SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode, encode
from nsctl.protocol.models import ClusterInfo
from tests.broker_standins import (
    StandInBrokers,
    captured,
    frame_body,
    refused_address,
    runtime_answer,
    with_opaque,
)


@pytest.fixture(scope="module")
def brokers():
    with StandInBrokers() as stand_ins:
        yield stand_ins


# --- requests as mqadmin sends them -------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "frame"),
    [
        (ops.get_broker_runtime_info(), "002_GET_BROKER_RUNTIME_INFO-clusterList_request"),
        (ops.get_topic_stats_info("CapTopic"), "009_GET_TOPIC_STATS_INFO-topicStatus_request"),
        (ops.get_topic_config("CapTopic"), "010_GET_TOPIC_CONFIG-topicStatus_request"),
    ],
)
def test_requests_match_the_captured_ones(operation, frame):
    java = decode(captured(frame))
    ours = decode(encode(operation.build(java.opaque, SerializeType.JSON)))
    assert ours.code == java.code
    assert ours.ext_fields == java.ext_fields  # 28 has none at all, like Java
    assert not ours.body and not java.body
    assert ours.version == java.version


def test_runtime_info_parses_the_captured_answer():
    response = decode(captured("005_GET_BROKER_RUNTIME_INFO-brokerStatus-b_response"))
    info = ops.get_broker_runtime_info().parse(response, "b:1")
    assert info.version == "V5_3_3" and info.active
    assert info.get("commitLogDiskRatio_/home/rocketmq/broker-a/store/commitlog") == "0.23"
    assert len(info.table) == 60  # the lines of brokerStatus -b in commands.log


def test_topic_stats_parse_object_keyed_offsets():
    response = decode(captured("009_GET_TOPIC_STATS_INFO-topicStatus_response"))
    stats = ops.get_topic_stats_info("CapTopic").parse(response, "b:1")
    assert stats.topic_put_tps == pytest.approx(58.63235612739788)
    assert stats.offset_table[MessageQueue("CapTopic", "broker-a", 2)] == TopicOffset(
        0, 2647, 1796076942747
    )
    assert sorted(q.queue_id for q in stats.offset_table) == [0, 1, 2, 3]
    # What a stand-in would send decodes to the same table.
    assert TopicStatsTable.decode(stats.encode()) == stats


def test_topic_config_parse_and_not_found():
    response = decode(captured("010_GET_TOPIC_CONFIG-topicStatus_response"))
    config = ops.get_topic_config("CapTopic").parse(response, "b:1")
    assert config.config.topic_name == "CapTopic" and config.config.read_queue_nums == 4
    assert config.mapping_detail is None
    missing = decode(captured("010_GET_TOPIC_CONFIG-topicStatus_request")).make_response(
        ResponseCode.TOPIC_NOT_EXIST, "No topic in this broker."
    )
    with pytest.raises(TopicNotFoundError):
        ops.get_topic_config("CapTopic").parse(missing, "b:1")


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"table":[1,2]}', b"[]", b'{"table":{"a":{"b":1}}}'[:-3]],
)
def test_bad_runtime_bodies_are_data_parse_errors(body):
    response = RemotingCommand(code=0, opaque=1, flag=1, body=body)
    with pytest.raises(NameServerDataParseError):
        ops.get_broker_runtime_info().parse(response, "b:1")


@pytest.mark.parametrize(
    "body",
    [
        b'{"offsetTable":{"x":{}}}',
        b'{"offsetTable":[1]}',
        b'{"offsetTable":{{"topic":"T","queueId":"x"}:{}}}',
        b'{"offsetTable":{{"topic":"T"}:{"minOffset":"a"}}}',
        b'{"offsetTable":{},"topicPutTps":"fast"}',
        b'{"offsetTable":{{"topic":"T"}',
        b"\xff\xfe",
    ],
)
def test_bad_topic_stats_bodies_are_data_parse_errors(body):
    response = RemotingCommand(code=0, opaque=1, flag=1, body=body)
    with pytest.raises(NameServerDataParseError):
        ops.get_topic_stats_info("T").parse(response, "b:1")


def test_stand_in_rewrites_only_the_opaque():
    frame = captured("002_GET_BROKER_RUNTIME_INFO-clusterList_response")
    rewritten = with_opaque(frame, 123456)
    assert decode(rewritten).opaque == 123456
    assert frame_body(rewritten) == frame_body(frame)
    assert with_opaque(rewritten, 2) == frame


# --- both clients, one definition ---------------------------------------------------------


def test_sync_and_async_clients_get_the_same_answers(brokers):
    address = brokers.add("answer")
    with BrokerClient(address, timeout=2) as client:
        sync_info = client.get_broker_runtime_info()
        sync_stats = client.get_topic_stats_info("CapTopic")
        sync_config = client.get_topic_config("CapTopic")

    async def both():
        async with AsyncBrokerClient(address, timeout=2) as client:
            return (
                await client.get_broker_runtime_info(),
                await client.get_topic_stats_info("CapTopic"),
                await client.get_topic_config("CapTopic"),
            )

    assert asyncio.run(both()) == (sync_info, sync_stats, sync_config)
    codes = [r.code for r in brokers.requests[address]]
    assert codes == [28, 202, 351, 28, 202, 351]


# --- faults, one broker at a time ---------------------------------------------------------

FAULTS = {
    "refused": NameServerConnectionError,
    "silent": NameServerTimeoutError,
    "half": NameServerConnectionError,
    "garbage": NameServerProtocolError,
    "error": NameServerResponseError,
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_a_typed_error_on_the_sync_client(brokers, fault):
    address = refused_address() if fault == "refused" else brokers.add(fault)
    with BrokerClient(address, timeout=0.5) as client, pytest.raises(FAULTS[fault]) as caught:
        client.get_broker_runtime_info()
    assert address in str(caught.value)


def test_fan_out_reports_every_fault_per_broker(brokers):
    good = brokers.add("answer")
    bad = {
        fault: refused_address() if fault == "refused" else brokers.add(fault) for fault in FAULTS
    }
    garbage_table = brokers.add("answer", answers={28: runtime_answer({"a": "1"})[:-1] + b"!"})
    addresses = [good, *bad.values(), garbage_table, good]  # a repeated address is asked once
    answers = asyncio.run(runtime_infos(addresses, timeout=0.5))
    assert list(answers) == [good, *bad.values(), garbage_table]
    assert answers[good].reachable and answers[good].value.version == "V5_3_3"
    assert answers[good].latency_ms is not None
    for fault, address in bad.items():
        assert not answers[address].reachable
        assert isinstance(answers[address].error, FAULTS[fault]), (fault, answers[address])
        assert answers[address].error_text and "\n" not in answers[address].error_text
    assert isinstance(answers[garbage_table].error, NameServerDataParseError)
    # A NameServer may list any string as an address: that broker fails, the others do not.
    odd = asyncio.run(runtime_infos(["no-port", good, "h:99999"], timeout=0.5))
    assert odd[good].reachable
    assert "invalid broker address 'no-port'" in odd["no-port"].error_text
    assert "invalid broker address 'h:99999'" in odd["h:99999"].error_text


def test_silent_brokers_cost_one_timeout_not_one_each(brokers):
    silent = [brokers.add("silent") for _ in range(6)]
    good = [brokers.add("answer") for _ in range(4)]
    started = time.monotonic()
    answers = asyncio.run(runtime_infos(silent + good, timeout=0.6))
    elapsed = time.monotonic() - started
    assert sum(a.reachable for a in answers.values()) == 4
    # Not a speed assertion: six silent brokers asked one after the other would take 3.6 s.
    assert elapsed < 0.6 * len(silent)


def test_concurrency_bound_and_overall_deadline(brokers):
    silent = [brokers.add("silent") for _ in range(3)]
    good = brokers.add("answer")

    async def run():
        return await query_brokers(
            [*silent, good],
            lambda client: client.get_broker_runtime_info(),
            timeout=0.5,
            concurrency=1,
            deadline=0.8,
        )

    answers = asyncio.run(run())
    # One slot: the first silent broker has it for 0.5 s, the second for what is left of the
    # deadline; the rest never get asked.
    assert isinstance(answers[silent[0]].error, NameServerTimeoutError)
    assert isinstance(answers[silent[1]].error, NameServerTimeoutError)
    assert "not asked" in answers[good].error_text
    assert good not in brokers.requests or not brokers.requests[good]
    with pytest.raises(ValueError):
        asyncio.run(query_brokers([good], lambda c: c.get_broker_runtime_info(), concurrency=0))


def test_listed_brokers_in_java_order():
    info = ClusterInfo.decode(
        json.dumps(
            {
                "brokerAddrTable": {
                    "b": {
                        "brokerName": "b",
                        "cluster": "C2",
                        "brokerAddrs": {"1": "h:2", "0": "h:1"},
                    },
                    "a": {"brokerName": "a", "cluster": "C1", "brokerAddrs": {"0": "h:3"}},
                    "ghost-less": {"brokerName": "x", "cluster": "C1", "brokerAddrs": {}},
                },
                "clusterAddrTable": {"C2": ["b"], "C1": ["a", "missing"]},
            }
        )
    )
    listed = listed_brokers(info)
    assert [(b.cluster, b.broker_name, b.broker_id, b.address) for b in listed] == [
        ("C1", "a", 0, "h:3"),
        ("C2", "b", 0, "h:1"),
        ("C2", "b", 1, "h:2"),
    ]
    assert [b.address for b in listed_brokers(info, "C2")] == ["h:1", "h:2"]
