"""The JSON dialect and the typed models, checked against the captured bodies."""

from __future__ import annotations

import json

import pytest

from nsctl.protocol import (
    BrokerData,
    BrokerMemberGroup,
    ClusterInfo,
    DataVersion,
    KVTable,
    ProtocolError,
    QueueData,
    RegisterBrokerBody,
    TopicConfig,
    TopicConfigSerializeWrapper,
    TopicList,
    TopicRouteData,
    body_crc32,
    decode,
    dialect,
)
from nsctl.protocol.headers import RegisterBrokerRequestHeader
from tests.protocol.fixtures import captured_frames

FRAMES = captured_frames()

ROUTE_BARE = (
    '{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.10:10911",1:"192.168.0.11:10911"},'
    '"brokerName":"broker-a","cluster":"DefaultCluster"},{"brokerAddrs":{0:"192.168.0.12:10911"},'
    '"brokerName":"broker-b","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":'
    '[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},'
    '{"brokerName":"broker-b","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}'
)


def test_bare_keys_are_read():
    route = TopicRouteData.from_wire(dialect.loads(ROUTE_BARE))
    assert route.broker_datas[0].broker_addrs == {0: "192.168.0.10:10911", 1: "192.168.0.11:10911"}
    assert route.writable_master_queues() == 12


def test_bare_key_writer_reproduces_java_bytes():
    route = TopicRouteData.from_wire(dialect.loads(ROUTE_BARE))
    assert route.encode(bare_int_keys=True).decode() == ROUTE_BARE
    standard = route.encode(bare_int_keys=False).decode()
    assert standard == ROUTE_BARE.replace("{0:", '{"0":').replace(",1:", ',"1":')
    assert json.loads(standard)


def test_bare_key_fixer_leaves_strings_alone():
    tricky = '{"remark":"{0:\\"x\\",1:2}","m":{0:"a,1:b"},"list":[1,2,{3:"c"}]}'
    assert dialect.loads(tricky) == {
        "remark": '{0:"x",1:2}',
        "m": {"0": "a,1:b"},
        "list": [1, 2, {"3": "c"}],
    }


def test_pretty_tab_format_is_read():
    pretty = '{\n\t"brokerAddrs":{0:"192.168.0.10:10911"\n\t},\n\t"brokerName":"broker-a"\n}'
    assert dialect.loads(pretty)["brokerAddrs"] == {"0": "192.168.0.10:10911"}


def test_ascii_only_uses_upper_case_escapes():
    route = TopicRouteData(order_topic_conf="é中")
    text = dialect.dumps(route.to_wire(), ascii_only=True, sort_keys=True)
    assert '"orderTopicConf":"\\u00E9\\u4E2D"' in text
    assert dialect.dumps({"a": "\\u00e9"}, ascii_only=True) == '{"a":"\\\\u00e9"}'


@pytest.mark.parametrize("bad", [b"", b"{", b"\xff", b"{0:}", b"[1,,2]"])
def test_bad_json_is_a_protocol_error(bad):
    with pytest.raises(ProtocolError):
        dialect.loads(bad)


def test_models_reject_wrong_shapes_with_a_path():
    with pytest.raises(ProtocolError, match=r"QueueData\.perm"):
        QueueData.from_wire({"brokerName": "b", "perm": "rw"})
    with pytest.raises(ProtocolError, match="brokerAddrs"):
        BrokerData.from_wire({"brokerAddrs": {"x": "a"}})
    with pytest.raises(ProtocolError):
        TopicRouteData.decode(b"[]")


def test_unknown_fields_are_ignored():
    data = dialect.loads(ROUTE_BARE)
    data["someFieldFromV9"] = {"x": 1}
    data["brokerDatas"][0]["another"] = [1]
    assert TopicRouteData.from_wire(data).broker_datas[0].broker_name == "broker-a"


def _responses(request_name: str) -> list:
    return [
        decode(f.raw)
        for f in FRAMES
        if f.meta["kind"] == "response" and f.meta["request_name"] == request_name
    ]


def test_every_captured_route_parses_and_round_trips():
    routes = [c for c in _responses("GET_ROUTEINFO_BY_TOPIC") if c.body]
    assert routes
    for command in routes:
        route = TopicRouteData.decode(command.body)
        assert route.queue_datas and route.broker_datas
        assert dialect.loads(route.encode()) == dialect.loads(command.body)


def test_every_captured_cluster_info_round_trips_byte_for_byte_when_single_broker():
    for command in _responses("GET_BROKER_CLUSTER_INFO"):
        info = ClusterInfo.decode(command.body)
        assert dialect.loads(info.encode()) == dialect.loads(command.body)
        if len(info.broker_addr_table) <= 1:
            assert info.encode() == command.body


def test_captured_topic_lists_kv_tables_and_member_groups():
    for name in (
        "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
        "GET_TOPICS_BY_CLUSTER",
        "GET_SYSTEM_TOPIC_LIST_FROM_NS",
        "GET_UNIT_TOPIC_LIST",
    ):
        for command in _responses(name):
            assert isinstance(TopicList.decode(command.body).topic_list, list)
    tables = [KVTable.decode(c.body) for c in _responses("GET_KVLIST_BY_NAMESPACE") if c.body]
    assert any(t.table for t in tables)
    groups = [BrokerMemberGroup.decode(c.body) for c in _responses("GET_BROKER_MEMBER_GROUP")]
    assert any(g.broker_addrs for g in groups)
    for group, command in zip(groups, _responses("GET_BROKER_MEMBER_GROUP"), strict=True):
        assert group.encode() == command.body


def test_captured_data_versions():
    bodies = [c.body for c in _responses("QUERY_DATA_VERSION") if c.body]
    assert bodies
    for body in bodies:
        version = DataVersion.decode(body)
        assert version.encode() == body


def _register_requests():
    for frame in FRAMES:
        command = decode(frame.raw)
        if command.code == 103 and not command.is_response:
            yield frame, command


def test_every_captured_register_body_decodes_and_crc_matches():
    seen = 0
    for frame, command in _register_requests():
        header = RegisterBrokerRequestHeader.from_ext(command.ext_fields)
        assert header.body_crc32 == body_crc32(command.body), frame.name
        if "compressed533" in frame.name:
            # a 5.3.3 broker labels its compressed body "compressed=false": not JSON
            with pytest.raises(ProtocolError):
                RegisterBrokerBody.decode_request(
                    command.body, compressed=False, version=command.version
                )
            continue
        body = RegisterBrokerBody.decode_request(
            command.body, compressed=bool(header.compressed), version=command.version
        )
        assert body.topics, frame.name
        assert all(name == config.topic_name for name, config in body.topics.items())
        seen += 1
    assert seen > 10


def test_compressed_body_matches_the_java_encoder():
    frames = [(f, c) for f, c in _register_requests() if "compressed" in f.name]
    assert frames
    for frame, command in frames:
        header = RegisterBrokerRequestHeader.from_ext(command.ext_fields)
        body = RegisterBrokerBody.decode_compressed(command.body)
        legacy = command.version < 413
        if header.compressed:
            assert body.encode_compressed(legacy=legacy) == command.body, frame.name


def test_compressed_round_trip_and_reference_dump():
    wrapper = TopicConfigSerializeWrapper(
        topic_config_table={
            "TopicTest": TopicConfig("TopicTest", 4, 4, 6),
            "TBW102": TopicConfig("TBW102", 8, 8, 7),
        },
        data_version=DataVersion(5, 1700000000000),
    )
    body = RegisterBrokerBody(wrapper)
    import zlib

    raw = zlib.decompress(body.encode_compressed(legacy=True))
    assert raw == (
        b'\x00\x00\x00\x27{"counter":5,"timestamp":1700000000000}\x00\x00\x00\x02'
        b"\x00\x00\x00\x1aTopicTest 4 4 6 SINGLE_TAG\x00\x00\x00\x17TBW102 8 8 7 SINGLE_TAG"
        b"\x00\x00\x00\x02[]"
    )
    again = RegisterBrokerBody.decode_compressed(body.encode_compressed())
    assert again.topics["TBW102"].perm == 7
    assert again.data_version == DataVersion(5, 1700000000000, 0)


def test_old_version_register_body_is_a_bare_wrapper():
    wrapper = TopicConfigSerializeWrapper({"T": TopicConfig("T")}, DataVersion(1, 2))
    body = RegisterBrokerBody.decode_request(wrapper.encode(), compressed=True, version=0)
    assert list(body.topics) == ["T"]
    empty = RegisterBrokerBody.decode_request(None, compressed=False, version=479)
    assert empty.topics == {} and empty.data_version == DataVersion(0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"not zlib",
        __import__("zlib").compress(b"\x00\x00\x00\x05{}"),
        __import__("zlib").compress(b"\x00\x00\x00\x02{}\x00\x00\x00\x01\x00\x00\x00\x03a b"),
    ],
)
def test_broken_compressed_bodies_raise_protocol_error(raw):
    with pytest.raises(ProtocolError):
        RegisterBrokerBody.decode_compressed(raw)


def test_data_version_equality_follows_5x():
    assert DataVersion(1, 2) == DataVersion(1, 2, 0)
    assert DataVersion(1, 2, 1) != DataVersion(1, 2, 0)
    assert DataVersion(1, 3) != DataVersion(1, 2)
    assert KVTable({"a": "b"}).encode() == b'{"table":{"a":"b"}}'
