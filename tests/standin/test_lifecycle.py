"""Topic and consumer-group lifecycle end to end: operations fanned out to stand-in brokers that
register on an in-process NameServer, all on loopback sockets.

The writes go out as the CLI will send them (`write_brokers` with one operation), and what the
NameServer's routes show afterwards is read with the ordinary client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nsctl.client import NameServerClient
from nsctl.client import operations as ops
from nsctl.client.broker_client import BrokerClient
from nsctl.client.broker_fanout import write_brokers_sync
from nsctl.client.errors import TopicNotFoundError
from nsctl.protocol.broker_admin import SubscriptionGroupConfig, dlq_topic, retry_topic
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer
from nsctl.standin import VERSION_DESC, StandInBrokers
from tests.broker_standins import refused_address

INTERVAL = 0.3
#: Every wait in these tests gives up after this long.
PATIENCE = 10.0


def wait_until(check: Callable[[], bool], timeout: float = PATIENCE) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture(params=["in-process", "nsctl serve"])
def namesrv(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A NameServer on a loopback port: the server object on a thread, or a real process."""
    if request.param == "nsctl serve":
        yield request.getfixturevalue("serve_process")
        return
    with EmbeddedNameServer(host="127.0.0.1", port=0) as ns:
        yield ns


@pytest.fixture
def brokers(namesrv: EmbeddedNameServer) -> Iterator[tuple[StandInBrokers, list[str]]]:
    with StandInBrokers() as stand_ins:
        addresses = [
            stand_ins.add(
                broker_name=name,
                namesrv=[namesrv.address],
                register_interval=INTERVAL,
            )
            for name in ("broker-a", "broker-b")
        ]
        yield stand_ins, addresses


def route_or_none(address: str, topic: str):
    with NameServerClient(address) as client:
        try:
            return client.query_topic_route_info(topic)
        except TopicNotFoundError:
            return None


def test_stand_ins_register_on_start_and_unregister_on_stop(namesrv) -> None:
    with StandInBrokers() as stand_ins:
        address = stand_ins.add(broker_name="broker-z", namesrv=[namesrv.address])
        with NameServerClient(namesrv.address) as client:
            info = client.get_broker_cluster_info()
            assert info.broker_addr_table["broker-z"].broker_addrs == {0: address}
            assert info.cluster_addr_table["DefaultCluster"] == ["broker-z"]
            # A fresh 5.3.3 broker's system topics are routed at once.
            assert client.query_topic_route_info("TBW102").queue_data("broker-z") is not None
            stand_ins.stop(address)
            assert "broker-z" not in client.get_broker_cluster_info().broker_addr_table
    with BrokerClient(address, timeout=1) as gone, pytest.raises(Exception):  # noqa: B017
        gone.get_broker_runtime_info()


def test_created_topic_is_routed_as_soon_as_the_write_returns(namesrv) -> None:
    with StandInBrokers() as stand_ins:
        # No periodic registration within the test: only the incremental one can route it.
        addresses = [
            stand_ins.add(broker_name=name, namesrv=[namesrv.address], register_interval=600)
            for name in ("broker-a", "broker-b")
        ]
        full = {a: stand_ins.broker(a).full_registrations for a in addresses}
        assert all(count >= 1 for count in full.values())  # the one on start
        results = write_brokers_sync(
            addresses, ops.update_and_create_topic(TopicConfig("AdminT", 4, 3, 6)), timeout=3
        )
        assert [r.status for r in results.values()] == ["ok", "ok"]
        # Each broker registered the topic before it answered: no waiting here.
        route = route_or_none(namesrv.address, "AdminT")
        assert route is not None
        queues = {
            q.broker_name: (q.read_queue_nums, q.write_queue_nums, q.perm)
            for q in route.queue_datas
        }
        assert queues == {"broker-a": (4, 3, 6), "broker-b": (4, 3, 6)}
        assert {a: stand_ins.broker(a).full_registrations for a in addresses} == full
        for address in addresses:
            outcome = stand_ins.broker(address).registrations[namesrv.address]
            assert not isinstance(outcome, Exception)


def test_perm_update_and_attributes_reach_the_route(namesrv, brokers) -> None:
    _, addresses = brokers
    config = TopicConfig("AdminFifo", 8, 8, 6)
    write_brokers_sync(addresses, ops.update_and_create_topic(config, "+message.type=FIFO"))
    readonly = TopicConfig("AdminFifo", 8, 8, 4)
    results = write_brokers_sync(addresses, ops.update_and_create_topic(readonly))
    assert all(r.ok for r in results.values())
    route = route_or_none(namesrv.address, "AdminFifo")
    assert route is not None and {q.perm for q in route.queue_datas} == {4}
    with BrokerClient(addresses[0]) as client:
        kept = client.get_topic_config("AdminFifo").config
    assert kept.attributes == {"message.type": "FIFO"} and kept.perm == 4


def test_deleted_topic_stays_gone_after_the_next_periodic_registration(namesrv, brokers) -> None:
    stand_ins, addresses = brokers
    write_brokers_sync(addresses, ops.update_and_create_topic(TopicConfig("AdminT", 4, 4, 6)))
    assert route_or_none(namesrv.address, "AdminT") is not None
    deleted = write_brokers_sync(addresses, ops.delete_topic_in_broker("AdminT"))
    assert all(r.ok for r in deleted.values())
    # The brokers tell the NameServer nothing: the route is removed there.
    assert route_or_none(namesrv.address, "AdminT") is not None
    with NameServerClient(namesrv.address) as client:
        client.delete_topic_in_namesrv("AdminT", "DefaultCluster")
    assert route_or_none(namesrv.address, "AdminT") is None
    seen = {a: stand_ins.broker(a).full_registrations for a in addresses}
    assert wait_until(
        lambda: all(stand_ins.broker(a).full_registrations >= seen[a] + 2 for a in addresses)
    )
    assert route_or_none(namesrv.address, "AdminT") is None
    with NameServerClient(namesrv.address) as client:
        assert "AdminT" not in client.get_all_topic_list().topic_list
        assert "TBW102" in client.get_all_topic_list().topic_list


def test_subscription_group_life_with_its_retry_and_dlq_topics(namesrv, brokers) -> None:
    _, addresses = brokers
    group = SubscriptionGroupConfig(
        "AdminGroup", consume_broadcast_enable=False, consume_from_min_enable=False
    )
    created = write_brokers_sync(addresses, ops.update_and_create_subscription_group(group))
    assert all(r.ok for r in created.values())
    # A consumer of the group would create these; here the brokers are asked directly.
    for topic in (retry_topic("AdminGroup"), dlq_topic("AdminGroup")):
        write_brokers_sync(addresses, ops.update_and_create_topic(TopicConfig(topic, 1, 1, 6)))
        assert route_or_none(namesrv.address, topic) is not None
    for address in addresses:
        with BrokerClient(address) as client:
            table = client.get_all_subscription_group_config().subscription_group_table
            assert table["AdminGroup"] == group
    # deleteSubGroup: the group on every broker, then each of its topics as a topic.
    removed = write_brokers_sync(addresses, ops.delete_subscription_group("AdminGroup"))
    assert all(r.ok for r in removed.values())
    with NameServerClient(namesrv.address) as client:
        for topic in (retry_topic("AdminGroup"), dlq_topic("AdminGroup")):
            gone = write_brokers_sync(addresses, ops.delete_topic_in_broker(topic))
            assert all(r.ok for r in gone.values())
            client.delete_topic_in_namesrv(topic)
            client.delete_kv_config(ORDER_TOPIC_CONFIG_NAMESPACE, topic)
            assert route_or_none(namesrv.address, topic) is None
    for address in addresses:
        with BrokerClient(address) as client:
            assert (
                "AdminGroup"
                not in client.get_all_subscription_group_config().subscription_group_table
            )
            topics = client.get_all_topic_config().topic_config_table
            assert retry_topic("AdminGroup") not in topics and dlq_topic("AdminGroup") not in topics
    # Deleting what is not there answers SUCCESS, as a 5.3.3 broker does.
    again = write_brokers_sync(addresses, ops.delete_subscription_group("AdminGroup", True))
    assert all(r.ok for r in again.values())


def test_get_all_round_trip(brokers) -> None:
    _, addresses = brokers
    address = addresses[0]
    with BrokerClient(address) as client:
        before = client.get_all_topic_config()
        client.update_and_create_topic(TopicConfig("RoundA", 2, 2, 6, order=True))
        client.update_and_create_topic(TopicConfig("RoundB", 1, 1, 4), "+message.type=DELAY")
        client.update_and_create_subscription_group(
            SubscriptionGroupConfig("RoundG", retry_max_times=3)
        )
        after = client.get_all_topic_config()
        groups = client.get_all_subscription_group_config()
        runtime = client.get_broker_runtime_info()
    assert after.data_version.counter == before.data_version.counter + 2
    assert after.topic_config_table["RoundA"] == TopicConfig(
        "RoundA", 2, 2, 6, order=True, attributes={}
    )
    assert after.topic_config_table["RoundB"].attributes == {"message.type": "DELAY"}
    assert set(after.topic_config_table) - set(before.topic_config_table) == {"RoundA", "RoundB"}
    assert groups.subscription_group_table["RoundG"].retry_max_times == 3
    assert "TOOLS_CONSUMER" in groups.subscription_group_table
    assert runtime.version == VERSION_DESC and runtime.get("msgPutTotalTodayNow") == "0"


def test_fan_out_reports_each_broker_within_one_deadline(namesrv, brokers) -> None:
    stand_ins, addresses = brokers
    silent = stand_ins.add("silent")
    dead = refused_address()
    everyone = [*addresses, silent, dead]
    started = time.monotonic()
    results = write_brokers_sync(
        everyone,
        ops.update_and_create_topic(TopicConfig("bad topic", 8, 8, 6)),
        timeout=0.5,
        deadline=1.0,
    )
    assert time.monotonic() - started < PATIENCE
    assert [results[a].status for a in everyone] == ["refused", "refused", "timeout", "unreachable"]
    refusal = results[addresses[0]]
    assert refusal.code == 29
    assert refusal.remark is not None and "illegal characters" in refusal.remark
    system = write_brokers_sync(addresses, ops.update_and_create_topic(TopicConfig("TBW102", 8, 8)))
    assert {r.remark for r in system.values()} == {
        "The topic[TBW102] is conflict with system topic."
    }
    assert route_or_none(namesrv.address, "bad topic") is None


def test_a_write_may_differ_per_broker(namesrv, brokers) -> None:
    _, addresses = brokers
    queues = {addresses[0]: 2, addresses[1]: 5}
    results = write_brokers_sync(
        addresses,
        lambda address: ops.update_and_create_topic(
            TopicConfig("AdminPer", queues[address], queues[address], 6)
        ),
    )
    assert all(r.ok for r in results.values())
    route = route_or_none(namesrv.address, "AdminPer")
    assert route is not None
    assert {q.broker_name: q.write_queue_nums for q in route.queue_datas} == {
        "broker-a": 2,
        "broker-b": 5,
    }


def test_a_stand_in_may_start_without_system_topics_and_report_registrations(namesrv) -> None:
    seen: list[str] = []
    with StandInBrokers() as stand_ins:
        address = stand_ins.add(
            broker_name="broker-q",
            namesrv=[namesrv.address],
            # Two: a 5.3.3 NameServer refuses a first registration holding a single topic.
            topics=[TopicConfig("OnlyThis", 1, 1, 6), TopicConfig("AndThat", 2, 2, 6)],
            with_system_topics=False,
            compressed=True,
            on_registered=lambda ns, outcome: seen.append(ns),
        )
        with BrokerClient(address) as client:
            table = client.get_all_topic_config().topic_config_table
            assert list(table) == ["OnlyThis", "AndThat"]
        assert route_or_none(namesrv.address, "OnlyThis") is not None
        assert route_or_none(namesrv.address, "TBW102") is None
    assert seen and set(seen) == {namesrv.address}
