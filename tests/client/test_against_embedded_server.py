"""Happy paths of both clients and managers against the real embedded NameServer."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nsctl.client import (
    AsyncNameServerClient,
    KVConfigNotFoundError,
    NameServerClient,
    NameServerConfig,
    NameServerManager,
    TopicNotFoundError,
    create_async_nameserver_manager,
    create_nameserver_manager,
)
from nsctl.protocol.codes import SerializeType
from nsctl.protocol.models import QueueData
from nsctl.protocol.register import DataVersion, TopicConfig
from nsctl.server import EmbeddedNameServer

BROKER = {"cluster_name": "C1", "broker_name": "broker-a", "broker_addr": "127.0.0.1:10911"}
TOPICS = {
    "TopicA": TopicConfig("TopicA", 4, 4, 6),
    "TopicB": TopicConfig("TopicB", 2, 2, 6),
}


@pytest.fixture
def client(nameserver: EmbeddedNameServer):
    with NameServerClient(nameserver.address, timeout=3.0) as client:
        yield client


@pytest.fixture
def registered(client: NameServerClient) -> NameServerClient:
    """A client whose connection carries a registered broker-a (the registration lives as
    long as that connection)."""
    client.register_broker(**BROKER, topic_configs=TOPICS)
    return client


@pytest.mark.parametrize("serialize_type", list(SerializeType))
def test_kv_round_trip(nameserver: EmbeddedNameServer, serialize_type: SerializeType) -> None:
    with NameServerClient(nameserver.address, serialize_type=serialize_type) as client:
        client.put_kv_config("ns", "k", "v with space=x")
        assert client.get_kv_config("ns", "k") == "v with space=x"
        assert client.get_kv_list_by_namespace("ns") == {"k": "v with space=x"}
        client.delete_kv_config("ns", "k")
        with pytest.raises(KVConfigNotFoundError):
            client.get_kv_config("ns", "k")
        with pytest.raises(KVConfigNotFoundError):
            client.get_kv_list_by_namespace("never-created")


def test_routes_clusters_and_topic_lists(registered: NameServerClient) -> None:
    route = registered.query_topic_route_info("TopicA")
    assert route.broker("broker-a").broker_addrs == {0: "127.0.0.1:10911"}
    assert route.queue_data("broker-a").write_queue_nums == 4
    with pytest.raises(TopicNotFoundError):
        registered.query_topic_route_info("NoSuchTopic")
    info = registered.get_broker_cluster_info()
    assert info.cluster_addr_table == {"C1": ["broker-a"]}
    assert set(registered.get_all_topic_list().topic_list) == {"TopicA", "TopicB"}
    assert set(registered.get_topics_by_cluster("C1").topic_list) == {"TopicA", "TopicB"}
    assert registered.get_topics_by_cluster("Other").topic_list == []
    system = registered.get_system_topic_list()
    assert set(system.topic_list) == {"C1", "broker-a"}
    for unit_list in (
        registered.get_unit_topic_list(),
        registered.get_has_unit_sub_topic_list(),
        registered.get_has_unit_sub_ununit_topic_list(),
    ):
        assert unit_list.topic_list == []


def test_broker_lifecycle_calls(registered: NameServerClient) -> None:
    version = DataVersion(1, 2, 0)
    changed, stored = registered.query_data_version(**BROKER, broker_id=0, data_version=version)
    assert changed is True and stored is not None
    member = registered.get_broker_member_group("C1", "broker-a")
    assert member.broker_addrs == {0: "127.0.0.1:10911"}
    assert registered.wipe_write_perm_of_broker("broker-a") == 2
    assert not registered.query_topic_route_info("TopicA").queue_data("broker-a").writable
    assert registered.add_write_perm_of_broker("broker-a") == 2
    assert registered.wipe_write_perm_of_broker("nobody") == 0
    registered.broker_heartbeat(**BROKER)
    registered.unregister_broker(**BROKER)


def test_slave_learns_its_master(
    nameserver: EmbeddedNameServer, registered: NameServerClient
) -> None:
    with NameServerClient(nameserver.address) as slave:
        result = slave.register_broker(
            cluster_name="C1",
            broker_name="broker-a",
            broker_addr="127.0.0.1:10921",
            broker_id=1,
            ha_server_addr="127.0.0.1:10922",
            topic_configs=TOPICS,
        )
    assert result is not None and result.master_addr == "127.0.0.1:10911"


def test_compressed_and_oneway_registration(client: NameServerClient) -> None:
    result = client.register_broker(**BROKER, topic_configs=TOPICS, compressed=True)
    assert result is not None
    assert client.query_topic_route_info("TopicB").queue_data("broker-a").read_queue_nums == 2
    assert client.register_broker(**BROKER, topic_configs=TOPICS, oneway=True) is None


def test_topics_in_namesrv_and_config(registered: NameServerClient) -> None:
    registered.register_topic_in_namesrv("TopicC", [QueueData("broker-a", 1, 1, 6)])
    assert registered.query_topic_route_info("TopicC").queue_data("broker-a") is not None
    registered.delete_topic_in_namesrv("TopicC", "C1")
    with pytest.raises(TopicNotFoundError):
        registered.query_topic_route_info("TopicC")
    config = registered.get_namesrv_config()
    assert config["orderMessageEnable"] == "false"
    registered.update_namesrv_config({"orderMessageEnable": "true"})
    assert registered.get_namesrv_config()["orderMessageEnable"] == "true"


def test_manager_caches_routes_and_broker_addresses(
    nameserver: EmbeddedNameServer, registered: NameServerClient
) -> None:
    with create_nameserver_manager(nameserver.address) as manager:
        first = manager.get_topic_route("TopicA")
        registered.wipe_write_perm_of_broker("broker-a")
        assert manager.get_topic_route("TopicA") is first  # still cached
        manager.clear_cache()
        assert not manager.get_topic_route("TopicA").queue_data("broker-a").writable
        assert manager.get_broker_address("broker-a", "TopicA") == "127.0.0.1:10911"
        assert manager.get_broker_address("broker-a") == "127.0.0.1:10911"
        assert manager.get_broker_address("nobody") is None
        assert manager.get_all_broker_addresses("TopicA") == ["127.0.0.1:10911"]
        info = manager.get_cache_info()
        assert info["cached_routes"] == 1 and info["cached_broker_addresses"] == 1
        assert info["connected_nameservers"] == [nameserver.address]
    config = NameServerConfig(nameserver.address, route_cache_ttl=0, broker_cache_ttl=0)
    with NameServerManager(config) as uncached:
        assert uncached.get_topic_route("TopicA") is not uncached.get_topic_route("TopicA")
        assert uncached.get_cache_info()["cached_routes"] == 0


def test_sync_manager_shared_by_threads(
    nameserver: EmbeddedNameServer, registered: NameServerClient
) -> None:
    errors: list[BaseException] = []
    with create_nameserver_manager(nameserver.address, route_cache_ttl=0.01) as manager:

        def work() -> None:
            try:
                for _ in range(50):
                    route = manager.get_topic_route("TopicA")
                    assert route.broker("broker-a") is not None
                    assert manager.invoke(lambda c: c.get_all_topic_list()).topic_list
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []


def test_async_client_and_thousands_of_concurrent_requests(
    nameserver: EmbeddedNameServer,
) -> None:
    async def run() -> None:
        async with AsyncNameServerClient(nameserver.address, timeout=20.0) as client:
            await asyncio.gather(*(client.put_kv_config("ns", f"k{i}", f"v{i}") for i in range(50)))
            keys = [f"k{i % 50}" for i in range(3000)]
            values = await asyncio.gather(*(client.get_kv_config("ns", k) for k in keys))
            assert values == [f"v{k[1:]}" for k in keys]
            with pytest.raises(TopicNotFoundError):
                await client.query_topic_route_info("Nope")
            assert (await client.get_broker_cluster_info()).broker_addr_table == {}

    asyncio.run(run())


def test_async_manager_against_the_server(nameserver: EmbeddedNameServer) -> None:
    async def run() -> None:
        async with create_async_nameserver_manager(nameserver.address) as manager:
            broker = manager.client_for(nameserver.address)
            await broker.register_broker(**BROKER, topic_configs=TOPICS)
            route = await manager.get_topic_route("TopicA")
            assert route.broker("broker-a") is not None
            assert await manager.get_broker_address("broker-a") == "127.0.0.1:10911"
            assert await manager.get_all_broker_addresses("TopicB") == ["127.0.0.1:10911"]
            results = await manager.broadcast(lambda c: c.put_kv_config("ns", "k", "v"))
            assert results == {nameserver.address: None}

    asyncio.run(run())
