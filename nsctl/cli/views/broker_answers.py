"""What every broker view says of one broker's answer: its name for messages, and its
reachable / error / latency fields in the JSON documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer, ListedBroker


def describe(broker: ListedBroker) -> str:
    """`broker-a 127.0.0.1:10911 (id 0)`: how messages name a broker of the cluster table."""
    return f"{broker.broker_name} {broker.address} (id {broker.broker_id})"


def answer_json(answer: BrokerAnswer[Any] | None) -> dict[str, Any]:
    """reachable / error / latencyMs of one broker (all null for a broker not asked)."""
    if answer is None:
        return {"reachable": None, "error": None, "latencyMs": None}
    return {
        "reachable": answer.reachable,
        "error": answer.error_text,
        "latencyMs": None if answer.latency_ms is None else round(answer.latency_ms, 2),
    }
