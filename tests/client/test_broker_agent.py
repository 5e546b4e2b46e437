"""BrokerAgent against two embedded NameServers: register, keep, re-register, unregister."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from nsctl.client import BrokerAgent, NameServerClient, NameServerError
from nsctl.client.broker import system_topics
from nsctl.protocol.frame import decode
from nsctl.protocol.register import RegisterBrokerBody, RegisterBrokerResult, TopicConfig
from nsctl.server import EmbeddedNameServer

INTERVAL = 0.2
DATA = Path(__file__).resolve().parent.parent / "data"


def brokers_on(address: str) -> dict[str, dict[int, str]]:
    with NameServerClient(address) as client:
        info = client.get_broker_cluster_info()
    return {name: data.broker_addrs for name, data in info.broker_addr_table.items()}


def make_agent(addresses: list[str], **options) -> BrokerAgent:
    return BrokerAgent(
        addresses,
        cluster_name="C1",
        broker_name="broker-x",
        broker_addr="127.0.0.1:10911",
        ha_server_addr="127.0.0.1:10912",
        topics={"Orders": TopicConfig("Orders", 4, 4, 6)},
        register_interval=INTERVAL,
        timeout=2.0,
        **options,
    )


def test_system_topics_of_a_real_broker() -> None:
    topics = system_topics("C1", "broker-x")
    assert topics["TBW102"].perm == 7 and topics["TBW102"].write_queue_nums == 8
    for name in ("C1", "broker-x", "SELF_TEST_TOPIC", "OFFSET_MOVED_EVENT", "SCHEDULE_TOPIC_XXXX"):
        assert name in topics
    for name in ("RMQ_SYS_TRANS_HALF_TOPIC", "BenchmarkTest"):
        assert name in topics


def test_system_topics_are_those_a_5_3_3_broker_registers() -> None:
    frame = (
        DATA / "frames-topic-admin-5.3.3" / "010_REGISTER_BROKER-updateTopic-b-periodic_request.bin"
    )
    request = decode(frame.read_bytes())
    body = RegisterBrokerBody.decode_request(request.body, compressed=False, version=479)
    registered = {k: v for k, v in body.topics.items() if not k.startswith("Admin")}
    assert system_topics("DefaultCluster", "broker-a") == registered


def test_data_version_changes_with_the_topic_set() -> None:
    agent = make_agent(["127.0.0.1:1"])
    before = agent.data_version
    agent.set_topics({"Orders": TopicConfig("Orders", 4, 4, 6)})
    assert agent.data_version == before  # same table, same version
    agent.add_topic(TopicConfig("Refunds", 2, 2, 6))
    assert agent.data_version != before and agent.data_version.counter == before.counter + 1
    assert "Refunds" in agent.topic_configs and "TBW102" in agent.topic_configs
    assert "TBW102" not in make_agent(["127.0.0.1:1"], include_system_topics=False).topic_configs


def test_run_registers_everywhere_keeps_it_and_unregisters_on_stop(
    nameserver: EmbeddedNameServer,
) -> None:
    with EmbeddedNameServer(host="127.0.0.1", port=0) as second:
        addresses = [nameserver.address, second.address]
        outcomes: list[tuple[str, RegisterBrokerResult | NameServerError]] = []

        async def scenario() -> None:
            agent = make_agent(addresses)
            stop = asyncio.Event()
            task = asyncio.create_task(
                agent.run(stop, on_registered=lambda a, o: outcomes.append((a, o)))
            )
            await _until(lambda: {a for a, _ in outcomes} == set(addresses))
            # Several intervals later the broker is still there: the connections stayed open
            # and the agent re-registered on each NameServer more than once.
            await asyncio.sleep(INTERVAL * 4)
            for address in addresses:
                assert await asyncio.to_thread(brokers_on, address) == {
                    "broker-x": {0: "127.0.0.1:10911"}
                }
                assert sum(1 for a, _ in outcomes if a == address) >= 3
            # A new topic reaches the NameServers without waiting for the interval.
            agent.add_topic(TopicConfig("Refunds", 2, 2, 6))
            await _until(lambda: _has_topic(nameserver.address, "Refunds"))
            stop.set()
            await asyncio.wait_for(task, 10)

        asyncio.run(scenario())
        assert all(isinstance(o, RegisterBrokerResult) for _, o in outcomes)
        assert brokers_on(nameserver.address) == {}
        assert brokers_on(second.address) == {}


def test_register_once_reports_each_nameserver(nameserver: EmbeddedNameServer) -> None:
    from tests.client.servers import closed_port_address

    dead = closed_port_address()

    async def scenario() -> dict:
        async with make_agent([nameserver.address, dead]) as agent:
            results = await agent.register_once()
            # Registered while the agent's connection is open.
            assert "broker-x" in await asyncio.to_thread(brokers_on, nameserver.address)
            return results

    results = asyncio.run(scenario())
    assert isinstance(results[nameserver.address], RegisterBrokerResult)
    assert isinstance(results[dead], NameServerError)


def test_reregisters_when_a_nameserver_comes_back(nameserver: EmbeddedNameServer) -> None:
    late = EmbeddedNameServer(host="127.0.0.1", port=0)
    late.start()
    late_port = late.port
    late.stop()  # the second NameServer is down when the agent starts

    async def scenario() -> None:
        agent = make_agent([nameserver.address, f"127.0.0.1:{late_port}"])
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        await _until(lambda: "broker-x" in brokers_on(nameserver.address))
        revived = EmbeddedNameServer(host="127.0.0.1", port=late_port)
        await asyncio.to_thread(revived.start)
        try:
            await _until(lambda: "broker-x" in brokers_on(revived.address), timeout=10)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await asyncio.to_thread(revived.stop)

    asyncio.run(scenario())


def _has_topic(address: str, topic: str) -> bool:
    with NameServerClient(address) as client:
        return topic in client.get_all_topic_list().topic_list


async def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
