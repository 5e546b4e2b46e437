"""clusterList's view: one row per broker address, with the broker's runtime cells (mqadmin's
text for them) and its -m figures computed once, in two orders: the cluster table's (table,
json) and mqadmin's (plain)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nsctl.cli.mqadmin import broker_text
from nsctl.cli.views.broker_answers import answer_json

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer, ListedBroker
    from nsctl.protocol.broker_models import BrokerRuntimeInfo
    from nsctl.protocol.models import ClusterInfo

Answers = dict[str, "BrokerAnswer[BrokerRuntimeInfo]"]

#: Table headings: mqadmin's, without its '#'.
TABLE_COLUMNS = (
    "Cluster",
    "Broker",
    "BID",
    "Address",
    *(c.lstrip("#") for c in broker_text.CLUSTER_COLUMNS[4:]),
)
MORE_TABLE_COLUMNS = (
    "Cluster",
    "Broker",
    "BID",
    "Address",
    *(c.lstrip("#") for c in broker_text.MORE_COLUMNS[2:]),
)
NO_STATS_COLUMNS = ("Cluster", "Broker", "BID", "Role", "Address")


@dataclass(frozen=True)
class BrokerRow:
    """One broker address of the cluster table and what its broker answered."""

    broker: ListedBroker
    answer: BrokerAnswer[BrokerRuntimeInfo] | None
    #: mqadmin's eight runtime cells (its placeholders when the broker gave no figures).
    columns: broker_text.RuntimeColumns
    #: -m: in/out yesterday, in/out today.
    more: tuple[int, int, int, int]

    @property
    def runtime(self) -> BrokerRuntimeInfo | None:
        return self.answer.value if self.answer is not None else None


@dataclass(frozen=True)
class ClusterListView:
    info: ClusterInfo
    cluster: str | None
    #: Whether the brokers were asked (False with --no-stats).
    stats: bool
    #: In the cluster table's order.
    rows: list[BrokerRow]
    #: The same rows in mqadmin's order (its HashMap orders), for the plain text.
    mqadmin_rows: list[BrokerRow]

    @property
    def problems(self) -> list[str]:
        """Figures a broker sent that mqadmin could not read, one per broker and figure."""
        return [
            f"{row.broker.address}: {problem}"
            for row in self.mqadmin_rows
            if row.runtime is not None
            for problem in row.columns.problems
        ]


def cluster_list_view(
    info: ClusterInfo,
    cluster: str | None,
    listed: list[ListedBroker],
    answers: Answers | None,
    now_ms: int,
) -> ClusterListView:
    """The view of `listed` (the brokers of `info`, optionally of one cluster); `answers` is
    None when the brokers were not asked."""
    by_address: dict[tuple[str, str, int, str], BrokerRow] = {}

    def row_of(broker: ListedBroker) -> BrokerRow:
        key = (broker.cluster, broker.broker_name, broker.broker_id, broker.address)
        row = by_address.get(key)
        if row is None:
            answer = (answers or {}).get(broker.address)
            runtime = answer.value if answer is not None else None
            row = BrokerRow(
                broker=broker,
                answer=answer,
                columns=broker_text.runtime_columns(runtime, now_ms),
                more=broker_text.more_stats(runtime),
            )
            by_address[key] = row
        return row

    rows = [row_of(b) for b in listed]
    mqadmin_rows = [row_of(b) for b in broker_text.mqadmin_rows(info, cluster)]
    return ClusterListView(info, cluster, answers is not None, rows, mqadmin_rows)


def table_rows(view: ClusterListView, *, more: bool) -> tuple[tuple[str, ...], list[tuple]]:
    """Headings and rows of the table. A broker without figures shows '-' in their cells:
    mqadmin's placeholders (0.00, false, ...) read like real figures to a person."""
    if not view.stats:
        rows = [
            (
                b.cluster,
                b.broker_name,
                b.broker_id,
                "master" if b.broker_id == 0 else "slave",
                b.address,
            )
            for b in (row.broker for row in view.rows)
        ]
        return NO_STATS_COLUMNS, rows
    table: list[tuple[Any, ...]] = []
    for row in view.rows:
        b = row.broker
        if more:
            figures: tuple[Any, ...] = row.more
        else:
            c = row.columns
            figures = (
                c.version,
                c.in_tps.strip(),
                c.out_tps.strip(),
                c.timer,
                c.pc_wait,
                c.hour,
                c.space,
                c.activated,
            )
        address = b.address
        if not more and row.runtime is not None and _no_messages(row.runtime):
            figures = (*figures[:5], "-", *figures[6:])  # no message stored: no age to show
        if row.runtime is None:
            address = f"{b.address} (unreachable)"
            figures = ("-",) * len(figures)
        table.append((b.cluster, b.broker_name, b.broker_id, address, *figures))
    return (MORE_TABLE_COLUMNS if more else TABLE_COLUMNS), table


def _no_messages(runtime: BrokerRuntimeInfo) -> bool:
    """An empty store answers an earliest message time of -1 (or 0): mqadmin turns it into
    hours since 1970, which the table does not repeat."""
    stamp = runtime.table.get("earliestMessageTimeStamp", "").strip()
    return stamp.lstrip("-").isdigit() and int(stamp) <= 0


def json_document(view: ClusterListView) -> dict[str, Any]:
    """The NameServer's cluster table (of one cluster with -c), plus `brokers` with each
    broker's answer when the brokers were asked."""
    data = view.info.to_wire()
    if view.cluster is not None:
        members = view.info.cluster_addr_table[view.cluster]
        data = {
            "brokerAddrTable": {k: v for k, v in data["brokerAddrTable"].items() if k in members},
            "clusterAddrTable": {view.cluster: members},
        }
    if view.stats:
        data["brokers"] = [
            {
                "cluster": row.broker.cluster,
                "brokerName": row.broker.broker_name,
                "brokerId": row.broker.broker_id,
                "address": row.broker.address,
                **answer_json(row.answer),
                "runtime": None if row.runtime is None else dict(sorted(row.runtime.table.items())),
            }
            for row in view.rows
        ]
    return data


def plain_lines(view: ClusterListView, *, more: bool) -> list[str]:
    """mqadmin's text, in mqadmin's row order; without the brokers' figures (--no-stats) only
    the columns the NameServer knows."""
    if not view.stats:
        return broker_text.cluster_names_lines(row.broker for row in view.mqadmin_rows)
    if more:
        return broker_text.cluster_more_lines(
            (row.broker.cluster, row.broker.broker_name, row.more) for row in view.mqadmin_rows
        )
    return broker_text.cluster_list_lines((row.broker, row.columns) for row in view.mqadmin_rows)
