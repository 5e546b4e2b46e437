"""Large registrations: decoded-body reuse is invisible, 100,000 topics fit in one frame."""

from __future__ import annotations

from nsctl.protocol import dialect, frame
from nsctl.protocol.codes import RequestCode
from nsctl.protocol.register import DataVersion, RegisterBrokerBody, TopicConfig, body_crc32
from nsctl.server.config import NamesrvConfig
from nsctl.server.dispatch import SMALL_BODY, Dispatcher
from nsctl.server.kvstore import KVStore
from nsctl.server.route_table import RouteTable
from tests.server.wire import WireClient, register_request, request


def topics(n: int, prefix: str = "T") -> dict[str, int]:
    return {f"{prefix}{i:06d}": 4 for i in range(n)}


def all_topics(client: WireClient) -> list[str]:
    return dialect.loads(client.call(request(206)).body)["topicList"]


def test_reused_bodies_never_hide_a_change(nameserver):
    many = topics(400)
    first = register_request(topics=many, version=DataVersion(1, 1, 0))
    assert len(first.body) >= SMALL_BODY  # large enough to be remembered
    with WireClient(nameserver.address) as broker, WireClient(nameserver.address) as admin:
        assert broker.call(first).code == 0
        assert broker.call(register_request(topics=many, version=DataVersion(1, 1, 0))).code == 0
        assert sorted(all_topics(admin)) == sorted(many)
        # Deleted on the NameServer: the same body again puts it back (it is missing).
        assert (
            admin.call(request(RequestCode.DELETE_TOPIC_IN_NAMESRV, {"topic": "T000007"})).code == 0
        )
        assert "T000007" not in all_topics(admin)
        assert broker.call(register_request(topics=many, version=DataVersion(1, 1, 0))).code == 0
        assert "T000007" in all_topics(admin)
        # Same DataVersion, different body: decoded afresh, the new topic shows.
        more = {**many, "Extra": 8}
        assert broker.call(register_request(topics=more, version=DataVersion(1, 1, 0))).code == 0
        assert "Extra" in all_topics(admin)
        # Another broker sending the first broker's bytes is decoded for itself.
        other = register_request(broker_name="broker-b", broker_addr="127.0.0.1:20911", topics=many)
        assert broker.call(other).code == 0
        route = dialect.loads(admin.call(request(105, {"topic": "T000001"})).body)
        assert {b["brokerName"] for b in route["brokerDatas"]} == {"broker-a", "broker-b"}


def test_a_100k_topic_compressed_registration_is_accepted(nameserver):
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(1, 1, 0)
    for i in range(100_000):
        name = f"scale-topic-{i:06d}"
        wrapper.topic_config_table[name] = TopicConfig(name, 8, 8)
    raw = body.encode_compressed()
    command = register_request()
    command.body = raw
    command.ext_fields = {
        **command.ext_fields,
        "compressed": "true",
        "bodyCrc32": str(body_crc32(raw)),
    }
    with WireClient(nameserver.address, timeout=60) as broker:
        answer = broker.call(command)
        assert answer.code == 0, answer.remark
        listed = all_topics(broker)
    assert len(listed) == 100_000
    assert sorted(listed) == sorted(wrapper.topic_config_table)


def test_remembered_bodies_of_departed_brokers_are_dropped(tmp_path):
    dispatcher = Dispatcher(RouteTable(), KVStore(tmp_path / "kv.json"), NamesrvConfig())

    def register(i: int, name: str) -> None:
        command = register_request(
            broker_name=name, broker_addr=f"10.0.{i // 200}.{i % 200}:10911", topics=topics(400)
        )
        assert dispatcher.handle(frame.decode(frame.encode(command)), conn=i).code == 0

    for i in range(40):
        register(i, f"b{i}")
        if i % 2:
            dispatcher.connection_closed(i)  # forgotten at once
    remembered = len(dispatcher._register_bodies)
    assert remembered == 20
    dispatcher.table.broker_live_table.clear()  # as if every broker had expired
    register(1000, "late")
    assert len(dispatcher._register_bodies) == 1
