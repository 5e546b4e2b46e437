"""The small demo cluster `nsctl demo` and `nsctl serve --demo` register through the protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nsctl.protocol.register import TopicConfig

if TYPE_CHECKING:
    from ssl import SSLContext

    from nsctl.client.broker import BrokerAgent

DEMO_CLUSTER = "DemoCluster"
DEMO_TOPICS = {
    "DemoTopic": TopicConfig("DemoTopic", 8, 8, 6),
    "OrderTopic": TopicConfig("OrderTopic", 4, 4, 6, order=True),
    "ReadOnlyTopic": TopicConfig("ReadOnlyTopic", 4, 4, 4),
}

# (broker name, broker id, address, HA address). Nothing listens on these addresses: the demo
# shows what the NameServer knows, and a NameServer never connects to its brokers.
DEMO_BROKERS = (
    ("broker-a", 0, "127.0.0.1:10911", "127.0.0.1:10912"),
    ("broker-a", 1, "127.0.0.1:10921", "127.0.0.1:10922"),
    ("broker-b", 0, "127.0.0.1:10931", "127.0.0.1:10932"),
)


def demo_agents(
    addresses: list[str], *, register_interval: float = 30.0, ssl_context: SSLContext | None = None
) -> list[BrokerAgent]:
    """One agent per demo broker; broker-b carries only DemoTopic, so routes differ per topic."""
    from nsctl.client.broker import BrokerAgent

    agents = []
    for name, broker_id, address, ha_address in DEMO_BROKERS:
        topics = DEMO_TOPICS if name == "broker-a" else {"DemoTopic": DEMO_TOPICS["DemoTopic"]}
        agents.append(
            BrokerAgent(
                addresses,
                cluster_name=DEMO_CLUSTER,
                broker_name=name,
                broker_addr=address,
                broker_id=broker_id,
                ha_server_addr=ha_address,
                topics=dict(topics),
                register_interval=register_interval,
                ssl_context=ssl_context,
            )
        )
    return agents
