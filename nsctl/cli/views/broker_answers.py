"""What every broker view says of one broker's answer: its name for messages, and its
reachable / error / latency fields in the JSON documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer, ListedBroker


def describe(broker: ListedBroker) -> str:
    """`broker-a 127.0.0.1:10911 (id 0)`: how every message names a broker of the cluster
    table (see `name_broker`)."""
    return name_broker(broker.broker_name, broker.address, broker.broker_id)


def name_broker(broker_name: str | None, address: str, broker_id: int | None = None) -> str:
    """One way to name a broker in every message: `broker-a 127.0.0.1:10911 (id 0)`, with
    what is known of it (a bare address when the NameServers do not list it)."""
    text = f"{broker_name} {address}" if broker_name else address
    return text if broker_id is None else f"{text} (id {broker_id})"


def answer_json(answer: BrokerAnswer[Any] | None) -> dict[str, Any]:
    """reachable / error / latencyMs of one broker (all null for a broker not asked)."""
    if answer is None:
        return {"reachable": None, "error": None, "latencyMs": None}
    return {
        "reachable": answer.reachable,
        "error": answer.error_text,
        "latencyMs": None if answer.latency_ms is None else round(answer.latency_ms, 2),
    }
