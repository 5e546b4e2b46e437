"""brokerStatus's view: each broker's runtime table as (address, key, value) rows, keys in
Java String order, with the brokers that gave no table kept for the JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nsctl.cli.mqadmin.broker_text import broker_status_lines
from nsctl.cli.views.broker_answers import answer_json

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer
    from nsctl.protocol.broker_models import BrokerRuntimeInfo

TABLE_COLUMNS = ("Broker", "Key", "Value")


@dataclass(frozen=True)
class BrokerStatusView:
    #: The cluster asked (-c), None for one address (-b).
    cluster: str | None
    #: Address -> answer, in mqadmin's visiting order.
    answers: dict[str, BrokerAnswer[BrokerRuntimeInfo]]

    def runtimes(self, *, ordered: bool = False) -> list[tuple[str, BrokerRuntimeInfo]]:
        """(address, table) of the brokers that answered: mqadmin's order, or by address."""
        addresses = sorted(self.answers) if ordered else list(self.answers)
        return [(a, v) for a in addresses if (v := self.answers[a].value) is not None]


def table_rows(view: BrokerStatusView) -> list[tuple[str, str, str]]:
    from nsctl.protocol.broker_models import utf16_order

    return [
        (address, key, runtime.table[key])
        for address, runtime in view.runtimes(ordered=True)
        for key in sorted(runtime.table, key=utf16_order)
    ]


def json_document(view: BrokerStatusView) -> dict[str, Any]:
    if view.cluster is None:
        ((address, runtime),) = view.runtimes()
        return {"address": address, "runtime": dict(sorted(runtime.table.items()))}
    brokers = []
    for address in sorted(view.answers):
        answer = view.answers[address]
        runtime = answer.value
        brokers.append(
            {
                "address": address,
                **answer_json(answer),
                "runtime": None if runtime is None else dict(sorted(runtime.table.items())),
            }
        )
    return {"cluster": view.cluster, "brokers": brokers}


def plain_lines(view: BrokerStatusView) -> list[str]:
    """mqadmin's text; with -c each line starts with the broker's address."""
    if view.cluster is None:
        return [line for _, runtime in view.runtimes() for line in broker_status_lines(runtime)]
    return [
        line
        for address, runtime in view.runtimes()
        for line in broker_status_lines(runtime, address)
    ]
