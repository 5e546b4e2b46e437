"""A known-good state (a broker, its topic, a KV entry) and the checks that it still answers
correctly: after fuzzing, after faults, the server must still serve exactly this."""

from __future__ import annotations

import itertools

from nsctl.protocol import dialect
from nsctl.protocol.codes import RequestCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.register import DataVersion
from tests.server.wire import WireClient, register_request, request

BROKER = "canary-broker"
ADDR = "127.0.0.1:29911"
CLUSTER = "CanaryCluster"
TOPIC = "CanaryTopic"
NAMESPACE, KEY, VALUE = "canary-ns", "canary-key", "canary-value"

_versions = itertools.count(1)


def register() -> RemotingCommand:
    """The canary broker's REGISTER_BROKER, with a DataVersion newer than the last one."""
    return register_request(
        broker_name=BROKER,
        broker_addr=ADDR,
        cluster=CLUSTER,
        topics={TOPIC: 4, f"{TOPIC}-2": 2},  # one topic alone would be an update, refused
        version=DataVersion(next(_versions), 1, 0),
    )


def put_kv() -> RemotingCommand:
    return request(RequestCode.PUT_KV_CONFIG, {"namespace": NAMESPACE, "key": KEY, "value": VALUE})


def get_route() -> RemotingCommand:
    return request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": TOPIC})


def get_kv() -> RemotingCommand:
    return request(RequestCode.GET_KV_CONFIG, {"namespace": NAMESPACE, "key": KEY})


def check_route(response: RemotingCommand, request_: RemotingCommand) -> None:
    assert response.opaque == request_.opaque and response.is_response
    assert response.code == 0, (response.code, response.remark)
    route = dialect.loads(response.body)
    assert [b["brokerAddrs"] for b in route["brokerDatas"]] == [{"0": ADDR}], route
    assert [q["brokerName"] for q in route["queueDatas"]] == [BROKER], route


def check_kv(response: RemotingCommand, request_: RemotingCommand) -> None:
    assert response.opaque == request_.opaque and response.is_response
    assert (response.code, response.ext("value")) == (0, VALUE), (response.code, response.remark)


def install(address: str) -> WireClient:
    """Register the canary broker and put the canary KV entry; the returned connection keeps
    the registration alive (close it to let the broker go)."""
    client = WireClient(address, timeout=10)
    assert client.call(register()).code == 0
    assert client.call(put_kv()).code == 0
    return client


def probe(address: str, timeout: float = 10.0) -> None:
    """On a fresh connection: the canary route and KV entry answer exactly as installed."""
    with WireClient(address, timeout=timeout) as client:
        route_request, kv_request = get_route(), get_kv()
        check_route(client.call(route_request), route_request)
        check_kv(client.call(kv_request), kv_request)
