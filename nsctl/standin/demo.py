"""The demo cluster of `nsctl demo` and `nsctl serve --demo`: three stand-in brokers (broker-a
master and slave, broker-b master) on free loopback ports, registered with the demo's
NameServer, so that every command, broker queries and writes included, works offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nsctl.protocol.register import TopicConfig

if TYPE_CHECKING:
    from ssl import SSLContext

    from nsctl.standin.broker import StandInBroker

DEMO_CLUSTER = "DemoCluster"
DEMO_TOPICS = {
    "DemoTopic": TopicConfig("DemoTopic", 8, 8, 6),
    "OrderTopic": TopicConfig("OrderTopic", 4, 4, 6, order=True),
    "ReadOnlyTopic": TopicConfig("ReadOnlyTopic", 4, 4, 4),
}

#: (broker name, broker id). broker-b carries only DemoTopic, so routes differ per topic.
DEMO_BROKERS = (("broker-a", 0), ("broker-a", 1), ("broker-b", 0))


def demo_standins(
    namesrv: list[str],
    *,
    register_interval: float = 30.0,
    ssl_context: SSLContext | None = None,
    host: str = "127.0.0.1",
) -> list[StandInBroker]:
    """The demo's stand-ins, not started yet (each listens on a free port once started)."""
    from nsctl.standin.broker import StandInBroker

    brokers = []
    for name, broker_id in DEMO_BROKERS:
        topics = DEMO_TOPICS if name == "broker-a" else {"DemoTopic": DEMO_TOPICS["DemoTopic"]}
        brokers.append(
            StandInBroker(
                DEMO_CLUSTER,
                name,
                broker_id,
                namesrv,
                host=host,
                port=0,
                register_interval=register_interval,
                topics=list(topics.values()),
                ssl_context=ssl_context,
            )
        )
    return brokers


def describe(brokers: list[StandInBroker]) -> str:
    """`broker-a master 127.0.0.1:PORT, broker-a slave ..., broker-b master ...`."""
    return ", ".join(
        f"{b.broker_name} {'master' if b.broker_id == 0 else 'slave'} {b.address}" for b in brokers
    )
