"""Cluster commands: `clusterList` (clusters and broker addresses from the NameServer, with each
broker's live runtime figures asked of every broker at once, as mqadmin 5.3.3 shows them), and
`wipeWritePerm` / `addWritePerm`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nsctl.cli.failures import EXIT_USAGE, fail
from nsctl.cli.fanout import report_fanout
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_json, emit_json_line, emit_lines, emit_table, reader_gone
from nsctl.cli.target import Output, Target

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer, ListedBroker
    from nsctl.protocol.broker_models import BrokerRuntimeInfo
    from nsctl.protocol.models import ClusterInfo

Answers = dict[str, "BrokerAnswer[BrokerRuntimeInfo]"]


@nameserver_command(
    "clusterList",
    help="List clusters and their broker addresses, with each broker's runtime figures "
    "(version, TPS and load, timer, page-cache wait, hours kept, disk use, activated), asked of "
    "every broker at once; an unreachable broker is marked and named on stderr. Exit 0 once the "
    "NameServer answered: use 'check --probe-brokers' to fail on silent brokers.",
)
def cluster_list_command(
    target: Target,
    cluster: Annotated[
        str | None, typer.Option("-c", "--clusterName", help="Only this cluster.")
    ] = None,
    more: Annotated[
        bool,
        typer.Option(
            "-m",
            "--moreStats",
            help="Messages in and out yesterday and today per broker instead.",
        ),
    ] = False,
    interval: Annotated[
        int | None,
        typer.Option(
            "-i",
            "--interval",
            min=1,
            help="Print again every SECONDS (until interrupted); JSON becomes one line a round.",
            metavar="SECONDS",
            show_default=False,
        ),
    ] = None,
    no_stats: Annotated[
        bool,
        typer.Option("--no-stats", help="Only what the NameServer knows: do not ask the brokers."),
    ] = False,
) -> None:
    if more and no_stats:
        fail("-m/--moreStats needs the brokers' figures: drop --no-stats", EXIT_USAGE)
    if cluster is not None:
        cluster = cluster.strip()
    rounds = 0
    while True:
        if rounds:
            time.sleep(interval or 0)
        rounds += 1
        _one_round(target, cluster, more=more, stats=not no_stats, stream=interval is not None)
        if interval is None or reader_gone():  # `| head -5` ends the repetitions too
            return


def _one_round(
    target: Target, cluster: str | None, *, more: bool, stats: bool, stream: bool
) -> None:
    from nsctl.client.broker_fanout import listed_brokers

    info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
    if cluster is not None and cluster not in info.cluster_addr_table:
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {cluster!r} not found (known: {known})")
    listed = listed_brokers(info, cluster)
    answers: Answers = {}
    if stats and listed:
        from nsctl.cli.broker_answers import ask_brokers, describe, report_failures

        answers = ask_brokers(
            target, [b.address for b in listed], lambda client: client.get_broker_runtime_info()
        )
        report_failures(answers, {b.address: describe(b) for b in listed})
    if target.output == Output.json:
        document = _json_document(info, cluster, listed, answers if stats else None)
        if stream:
            emit_json_line(document)
        else:
            emit_json(document)
    elif target.output == Output.plain:
        _plain(info, cluster, answers, more=more)
    else:
        _table(listed, answers, more=more, stats=stats)


def _plain(info: ClusterInfo, cluster: str | None, answers: Answers, *, more: bool) -> None:
    from nsctl.cli.mqadmin import broker_text

    rows = broker_text.mqadmin_rows(info, cluster)
    if more:
        emit_lines(broker_text.cluster_more_lines(rows, answers))
        return
    now_ms = int(time.time() * 1000)
    emit_lines(broker_text.cluster_list_lines(rows, answers, now_ms))
    problems = [
        f"{row.address}: {problem}"
        for row in rows
        if (answer := answers.get(row.address)) is not None and answer.value is not None
        for problem in broker_text.runtime_columns(answer.value, now_ms).problems
    ]
    if problems:
        from nsctl.cli.broker_answers import warn_brokers

        warn_brokers("unreadable broker figures", problems)


def _table(listed: list[ListedBroker], answers: Answers, *, more: bool, stats: bool) -> None:
    from nsctl.cli.mqadmin import broker_text

    if not stats:
        rows = [
            (
                b.cluster,
                b.broker_name,
                b.broker_id,
                "master" if b.broker_id == 0 else "slave",
                b.address,
            )
            for b in listed
        ]
        emit_table(None, ("Cluster", "Broker", "BID", "Role", "Address"), rows)
        return
    now_ms = int(time.time() * 1000)
    table_rows: list[tuple[Any, ...]] = []
    for b in listed:
        answer = answers.get(b.address)
        runtime = answer.value if answer is not None else None
        if more:
            figures = tuple(broker_text.more_stats(runtime))
        else:
            c = broker_text.runtime_columns(runtime, now_ms)
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
        if runtime is None:
            # mqadmin's placeholders (0.00, false, ...) read like real figures to a person:
            # the table says plainly that there are none; -o plain keeps mqadmin's text.
            address = f"{b.address} (unreachable)"
            figures = ("-",) * len(figures)
        else:
            address = b.address
        table_rows.append((b.cluster, b.broker_name, b.broker_id, address, *figures))
    if more:
        columns = (
            "Cluster",
            "Broker",
            "BID",
            "Address",
            *(c.lstrip("#") for c in broker_text.MORE_COLUMNS[2:]),
        )
    else:
        columns = (
            "Cluster",
            "Broker",
            "BID",
            "Address",
            *(c.lstrip("#") for c in broker_text.CLUSTER_COLUMNS[4:]),
        )
    emit_table(None, columns, table_rows)


def _json_document(
    info: ClusterInfo, cluster: str | None, listed: list[ListedBroker], answers: Answers | None
) -> dict[str, Any]:
    from nsctl.cli.broker_answers import answer_json

    data = info.to_wire()
    if cluster is not None:
        members = info.cluster_addr_table[cluster]
        data = {
            "brokerAddrTable": {k: v for k, v in data["brokerAddrTable"].items() if k in members},
            "clusterAddrTable": {cluster: members},
        }
    if answers is not None:
        brokers = []
        for b in listed:
            answer = answers.get(b.address)
            brokers.append(
                {
                    "cluster": b.cluster,
                    "brokerName": b.broker_name,
                    "brokerId": b.broker_id,
                    "address": b.address,
                    **answer_json(answer),
                    "runtime": None
                    if answer is None or answer.value is None
                    else dict(sorted(answer.value.table.items())),
                }
            )
        data["brokers"] = brokers
    return data


BrokerNameOption = Annotated[
    str, typer.Option("-b", "--brokerName", help="Broker name.", show_default=False)
]


def _write_perm(target: Target, broker_name: str, *, wipe: bool) -> None:
    verb, field = ("wipe", "wipeTopicCount") if wipe else ("add", "addTopicCount")

    def change(client) -> int:
        from nsctl.client.errors import NameServerError

        if wipe:
            count = client.wipe_write_perm_of_broker(broker_name)
        else:
            count = client.add_write_perm_of_broker(broker_name)
        # 0 topics is an answer for a known broker without topics, and a silent no-op for a
        # broker name the NameServer has never heard of (a typo): tell them apart.
        if count == 0 and broker_name not in client.get_broker_cluster_info().broker_addr_table:
            raise NameServerError(f"broker {broker_name!r} is not registered there")
        return count

    results = target.manager.broadcast(change)
    report_fanout(
        target,
        results,
        ok_line=lambda address, count: (
            f"{verb} write perm of broker[{broker_name}] in name server[{address}] OK, {count}"
        ),
        json_fields=lambda address, count: {field: count},
        summary={"brokerName": broker_name},
    )


@nameserver_command(
    "wipeWritePerm",
    help="Clear the write permission of a broker's topics on every NameServer "
    "(stops producers sending to it; lasts until the broker's topic config changes).",
)
def wipe_write_perm(target: Target, broker_name: BrokerNameOption) -> None:
    _write_perm(target, broker_name, wipe=True)


@nameserver_command(
    "addWritePerm", help="Give a broker's topics read+write permission again on every NameServer."
)
def add_write_perm(target: Target, broker_name: BrokerNameOption) -> None:
    _write_perm(target, broker_name, wipe=False)
