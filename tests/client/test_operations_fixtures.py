"""The operations' request builders and response parsers against frames captured from real
4.9.8 and 5.3.3 Java clients, brokers and NameServers. No server needed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nsctl.client import operations as ops
from nsctl.client.errors import (
    KVConfigNotFoundError,
    NameServerResponseError,
    TopicNotFoundError,
)
from nsctl.client.operations import Operation
from nsctl.protocol.codes import RequestCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode
from nsctl.protocol.models import (
    BrokerMemberGroup,
    ClusterInfo,
    QueueData,
    TopicList,
    TopicRouteData,
)
from nsctl.protocol.register import DataVersion, RegisterBrokerBody, RegisterBrokerResult
from tests.protocol.fixtures import CapturedFrame, captured_frames


def _ext(request: RemotingCommand, name: str, default: str = "") -> str:
    return request.ext(name) or default


def _register(request: RemotingCommand) -> Operation:
    compressed = request.ext("compressed") == "true"
    # 5.3.3 brokers label a zlib body "compressed=false" (protocol.md §5.2.2): look at the bytes.
    zlib_body = bool(request.body) and request.body[:1] == b"\x78"
    body = RegisterBrokerBody.decode_request(
        request.body, compressed=zlib_body, version=request.version
    )
    return ops.register_broker(
        compressed=compressed,
        cluster_name=_ext(request, "clusterName"),
        broker_name=_ext(request, "brokerName"),
        broker_addr=_ext(request, "brokerAddr"),
        broker_id=int(_ext(request, "brokerId", "0")),
        ha_server_addr=request.ext("haServerAddr"),
        topic_configs=body.topic_config_serialize_wrapper,
    )


def _broker_identity(request: RemotingCommand) -> dict:
    return {
        "cluster_name": _ext(request, "clusterName"),
        "broker_name": _ext(request, "brokerName"),
        "broker_addr": _ext(request, "brokerAddr"),
        "broker_id": int(_ext(request, "brokerId", "0")),
    }


#: How to rebuild each captured request with the operations module.
REBUILD: dict[str, Callable[[RemotingCommand], Operation]] = {
    "GET_ROUTEINFO_BY_TOPIC": lambda r: ops.query_topic_route_info(_ext(r, "topic")),
    "GET_BROKER_CLUSTER_INFO": lambda r: ops.get_broker_cluster_info(),
    "GET_ALL_TOPIC_LIST_FROM_NAMESERVER": lambda r: ops.get_all_topic_list(),
    "GET_TOPICS_BY_CLUSTER": lambda r: ops.get_topics_by_cluster(_ext(r, "cluster")),
    "GET_SYSTEM_TOPIC_LIST_FROM_NS": lambda r: ops.get_system_topic_list(),
    "GET_UNIT_TOPIC_LIST": lambda r: ops.get_unit_topic_list(),
    "GET_HAS_UNIT_SUB_TOPIC_LIST": lambda r: ops.get_has_unit_sub_topic_list(),
    "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST": lambda r: ops.get_has_unit_sub_ununit_topic_list(),
    "GET_KV_CONFIG": lambda r: ops.get_kv_config(_ext(r, "namespace"), _ext(r, "key")),
    "PUT_KV_CONFIG": lambda r: ops.put_kv_config(
        _ext(r, "namespace"), _ext(r, "key"), _ext(r, "value")
    ),
    "DELETE_KV_CONFIG": lambda r: ops.delete_kv_config(_ext(r, "namespace"), _ext(r, "key")),
    "GET_KVLIST_BY_NAMESPACE": lambda r: ops.get_kv_list_by_namespace(_ext(r, "namespace")),
    "REGISTER_BROKER": _register,
    "UNREGISTER_BROKER": lambda r: ops.unregister_broker(**_broker_identity(r)),
    "QUERY_DATA_VERSION": lambda r: ops.query_data_version(
        **_broker_identity(r), data_version=DataVersion.decode(r.body)
    ),
    "GET_BROKER_MEMBER_GROUP": lambda r: ops.get_broker_member_group(
        _ext(r, "clusterName"), _ext(r, "brokerName")
    ),
    "WIPE_WRITE_PERM_OF_BROKER": lambda r: ops.wipe_write_perm_of_broker(_ext(r, "brokerName")),
    "ADD_WRITE_PERM_OF_BROKER": lambda r: ops.add_write_perm_of_broker(_ext(r, "brokerName")),
    "DELETE_TOPIC_IN_NAMESRV": lambda r: ops.delete_topic_in_namesrv(
        _ext(r, "topic"), r.ext("clusterName")
    ),
    "GET_NAMESRV_CONFIG": lambda r: ops.get_namesrv_config(),
    "UPDATE_NAMESRV_CONFIG": lambda r: ops.update_namesrv_config({}),
}

#: What a successful parse must produce for each request kind.
RESULT_TYPES: dict[str, type | tuple[type, ...]] = {
    "GET_ROUTEINFO_BY_TOPIC": TopicRouteData,
    "GET_BROKER_CLUSTER_INFO": ClusterInfo,
    "GET_ALL_TOPIC_LIST_FROM_NAMESERVER": TopicList,
    "GET_TOPICS_BY_CLUSTER": TopicList,
    "GET_SYSTEM_TOPIC_LIST_FROM_NS": TopicList,
    "GET_UNIT_TOPIC_LIST": TopicList,
    "GET_HAS_UNIT_SUB_TOPIC_LIST": TopicList,
    "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST": TopicList,
    "GET_KV_CONFIG": str,
    "PUT_KV_CONFIG": type(None),
    "DELETE_KV_CONFIG": type(None),
    "GET_KVLIST_BY_NAMESPACE": dict,
    "REGISTER_BROKER": RegisterBrokerResult,
    "UNREGISTER_BROKER": type(None),
    "QUERY_DATA_VERSION": tuple,
    "GET_BROKER_MEMBER_GROUP": BrokerMemberGroup,
    "WIPE_WRITE_PERM_OF_BROKER": int,
    "ADD_WRITE_PERM_OF_BROKER": int,
    "DELETE_TOPIC_IN_NAMESRV": type(None),
    "GET_NAMESRV_CONFIG": dict,
    "UPDATE_NAMESRV_CONFIG": type(None),
}


def _pairs() -> list[tuple[CapturedFrame, CapturedFrame]]:
    """(request, response) pairs of known NameServer calls that got an answer."""
    frames = captured_frames()
    responses = {(f.version, f.meta["nn"]): f for f in frames if f.meta["kind"] == "response"}
    pairs = []
    for frame in frames:
        if frame.meta["kind"] != "request" or frame.meta["request_name"] not in REBUILD:
            continue
        response = responses.get((frame.version, frame.meta["nn"]))
        if response is not None:
            pairs.append((frame, response))
    return pairs


PAIRS = _pairs()


def test_fixtures_cover_every_operation() -> None:
    assert {request.meta["request_name"] for request, _ in PAIRS} == set(REBUILD)


@pytest.mark.parametrize("request_frame,response_frame", PAIRS, ids=lambda f: f.name)
def test_captured_responses_parse_into_typed_results_or_errors(
    request_frame: CapturedFrame, response_frame: CapturedFrame
) -> None:
    request, response = decode(request_frame.raw), decode(response_frame.raw)
    operation = REBUILD[request_frame.meta["request_name"]](request)
    if response.code == 0:
        result = operation.parse(response, "ns:9876")
        assert isinstance(result, RESULT_TYPES[request_frame.meta["request_name"]])
        return
    with pytest.raises(NameServerResponseError) as caught:
        operation.parse(response, "ns:9876")
    assert caught.value.code == response.code
    assert caught.value.remark == response.remark
    assert caught.value.address == "ns:9876"
    if response.code == 17:
        assert isinstance(caught.value, TopicNotFoundError)
    if response.code == 22:
        assert isinstance(caught.value, KVConfigNotFoundError)


@pytest.mark.parametrize("request_frame,response_frame", PAIRS, ids=lambda f: f.name)
def test_rebuilt_requests_carry_the_ext_fields_java_sends(
    request_frame: CapturedFrame, response_frame: CapturedFrame
) -> None:
    captured = decode(request_frame.raw)
    name = request_frame.meta["request_name"]
    if request_frame.meta.get("tag", "").startswith("raw"):
        pytest.skip("hand-made frame, not what a Java client sends")
    built = REBUILD[name](captured).request
    assert built.code == captured.code
    assert (built.language == "PYTHON" and built.version == 479) or name == "REGISTER_BROKER"
    expected = {k: v for k, v in (captured.ext_fields or {}).items() if k in _OUR_FIELDS[name]}
    ours = dict(built.ext_fields or {})
    ours.pop("acceptStandardJsonOnly", None)  # the extra of protocol.md §12.1
    if name == "REGISTER_BROKER":
        # Both CRCs are of the exact body each side sends; the bodies differ in key order.
        assert int(ours.pop("bodyCrc32")) >= 0
        expected.pop("bodyCrc32", None)
    if name == "UPDATE_NAMESRV_CONFIG":
        return  # the body is checked in test_update_config_body_is_properties_text
    assert ours == expected


#: The ext fields nsctl's requests carry (Java hooks may add more, e.g. ACL signatures).
_OUR_FIELDS: dict[str, set[str]] = {name: set() for name in REBUILD}
_OUR_FIELDS.update(
    {
        "GET_ROUTEINFO_BY_TOPIC": {"topic"},
        "GET_TOPICS_BY_CLUSTER": {"cluster"},
        "GET_KV_CONFIG": {"namespace", "key"},
        "PUT_KV_CONFIG": {"namespace", "key", "value"},
        "DELETE_KV_CONFIG": {"namespace", "key"},
        "GET_KVLIST_BY_NAMESPACE": {"namespace"},
        "REGISTER_BROKER": {
            "brokerName",
            "brokerAddr",
            "clusterName",
            "haServerAddr",
            "brokerId",
            "compressed",
            "bodyCrc32",
        },
        "UNREGISTER_BROKER": {"brokerName", "brokerAddr", "clusterName", "brokerId"},
        "QUERY_DATA_VERSION": {"brokerName", "brokerAddr", "clusterName", "brokerId"},
        "GET_BROKER_MEMBER_GROUP": {"clusterName", "brokerName"},
        "WIPE_WRITE_PERM_OF_BROKER": {"brokerName"},
        "ADD_WRITE_PERM_OF_BROKER": {"brokerName"},
        "DELETE_TOPIC_IN_NAMESRV": {"topic", "clusterName"},
    }
)


def _response(name: str, version: str = "frames-5.3.3") -> tuple[RemotingCommand, RemotingCommand]:
    for request_frame, response_frame in PAIRS:
        if request_frame.version == version and request_frame.path.name.startswith(name):
            return decode(request_frame.raw), decode(response_frame.raw)
    raise LookupError(name)


def test_route_of_a_5x_server_has_brokers_and_queues() -> None:
    _, response = _response("024_GET_ROUTEINFO_BY_TOPIC-hit")
    route = ops.query_topic_route_info("TopicTest").parse(response)
    assert route.broker("broker-a").broker_addrs == {0: "127.0.0.1:10911", 1: "127.0.0.1:10921"}
    assert route.queue_data("broker-a").write_queue_nums == 4


def test_cluster_info_with_bare_integer_keys() -> None:
    _, response = _response("026_GET_BROKER_CLUSTER_INFO-populated")
    assert b"{0:" in response.body
    info = ops.get_broker_cluster_info().parse(response)
    assert info.cluster_addr_table == {"DefaultCluster": ["broker-a"]}
    assert info.broker_addr_table["broker-a"].master_addr == "127.0.0.1:10911"


def test_kv_values_and_tables() -> None:
    _, hit = _response("008_GET_KV_CONFIG-hit")
    assert ops.get_kv_config("ns", "k").parse(hit) == "v"
    _, table = _response("011_GET_KVLIST_BY_NAMESPACE-hit")
    assert ops.get_kv_list_by_namespace("ns").parse(table) == {"k": "v", "k2": "v2 with space=x"}


def test_query_data_version_answers() -> None:
    _, same = _response("018_QUERY_DATA_VERSION-master-same")
    changed, stored = ops.query_data_version(
        cluster_name="c",
        broker_name="b",
        broker_addr="a:1",
        broker_id=0,
        data_version=DataVersion(),
    ).parse(same)
    assert changed is False and isinstance(stored, DataVersion)


def test_namesrv_config_text_becomes_a_dict() -> None:
    _, response = _response("004_GET_NAMESRV_CONFIG")
    config = ops.get_namesrv_config().parse(response)
    assert config["orderMessageEnable"] == "false"
    assert "kvConfigPath" in config


def test_update_config_body_is_properties_text() -> None:
    request, _ = _response("042_UPDATE_NAMESRV_CONFIG-orderon")
    built = ops.update_namesrv_config({"orderMessageEnable": True}).request
    assert built.body == request.body == b"orderMessageEnable=true\n"
    with pytest.raises(ValueError):
        ops.update_namesrv_config({"bad key": "x"})


def test_wipe_count_and_member_group() -> None:
    _, wipe = _response("047_WIPE_WRITE_PERM_OF_BROKER-wipe")
    assert ops.wipe_write_perm_of_broker("broker-a").parse(wipe) == int(wipe.ext("wipeTopicCount"))
    _, group = _response("034_GET_BROKER_MEMBER_GROUP-hit")
    members = ops.get_broker_member_group("DefaultCluster", "broker-a").parse(group)
    assert members.broker_addrs[0] == "127.0.0.1:10911"


def test_register_topic_body_carries_queue_datas() -> None:
    operation = ops.register_topic_in_namesrv("T", [QueueData("b", 4, 4, 6)])
    assert operation.request.code == RequestCode.REGISTER_TOPIC_IN_NAMESRV
    assert TopicRouteData.decode(operation.request.body).queue_datas == [QueueData("b", 4, 4, 6)]


def test_compressed_registration_decodes_on_both_server_generations() -> None:
    operation = ops.register_broker(
        cluster_name="c",
        broker_name="b",
        broker_addr="h:1",
        topic_configs={},
        compressed=True,
    )
    request = operation.request
    assert request.ext("compressed") == "true"
    for version in (409, 479):  # how 4.9.8 and 5.3.3 servers read a request of this version
        body = RegisterBrokerBody.decode_request(
            request.body, compressed=True, version=min(version, request.version)
        )
        assert body.topics == {}
