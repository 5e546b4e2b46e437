"""Cluster commands: `clusterList` (clusters and broker addresses from the NameServer, with each
broker's live runtime figures asked of every broker at once, as mqadmin 5.3.3 shows them), and
`wipeWritePerm` / `addWritePerm`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from nsctl.cli.commands.each import EachOption, show_each
from nsctl.cli.failures import EXIT_USAGE, fail
from nsctl.cli.fanout import report_fanout
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_json, emit_json_line, emit_lines, emit_table, reader_gone
from nsctl.cli.target import Output, Target

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer
    from nsctl.protocol.broker_models import BrokerRuntimeInfo

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
            help="Print again every SECONDS until interrupted (Ctrl-C ends it, exit 0); JSON "
            "becomes one line a round.",
            metavar="SECONDS",
            show_default=False,
        ),
    ] = None,
    no_stats: Annotated[
        bool,
        typer.Option(
            "--no-stats",
            help="Only what the NameServer knows: do not ask the brokers (-o plain then prints "
            "mqadmin's first four columns only).",
        ),
    ] = False,
    each: EachOption = False,
) -> None:
    if each:
        if not no_stats or more or interval is not None:
            fail("--each compares what each NameServer lists: give it with --no-stats only",
                 EXIT_USAGE)  # fmt: skip
        show_each(
            target,
            "Clusters on each NameServer",
            lambda client: client.get_broker_cluster_info(),
            lambda info: {
                f"{b.cluster} {b.broker_name} {b.broker_id}": b.address
                for b in _listed(info, cluster)
            },
            document=lambda info: info.to_wire(),
        )
        return
    if more and no_stats:
        fail("-m/--moreStats needs the brokers' figures: drop --no-stats", EXIT_USAGE)
    if cluster is not None:
        cluster = cluster.strip()
    if interval is None:
        _one_round(target, cluster, more=more, stats=not no_stats, stream=False)
        return
    try:
        while True:
            _one_round(target, cluster, more=more, stats=not no_stats, stream=True)
            if reader_gone():  # `| head -5` ends the repetitions too
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        # -i runs until interrupted: Ctrl-C is how it ends (exit 0), as for watch.
        return


def _one_round(
    target: Target, cluster: str | None, *, more: bool, stats: bool, stream: bool
) -> None:
    from nsctl.cli.views import cluster_list as view_of
    from nsctl.client.broker_fanout import listed_brokers

    info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
    if cluster is not None and cluster not in info.cluster_addr_table:
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {cluster!r} not found (known: {known})")
    listed = listed_brokers(info, cluster)
    answers: Answers = {}
    if stats and listed:
        from nsctl.cli.broker_answers import ask_brokers, report_failures
        from nsctl.cli.views.broker_answers import describe

        answers = ask_brokers(
            target, [b.address for b in listed], lambda client: client.get_broker_runtime_info()
        )
        report_failures(answers, {b.address: describe(b) for b in listed})
    view = view_of.cluster_list_view(
        info, cluster, listed, answers if stats else None, int(time.time() * 1000)
    )
    if target.output == Output.json:
        document = view_of.json_document(view)
        if stream:
            emit_json_line(document)
        else:
            emit_json(document)
    elif target.output == Output.plain:
        emit_lines(view_of.plain_lines(view, more=more))
        if view.problems and not more:
            from nsctl.cli.broker_answers import warn_brokers

            warn_brokers("unreadable broker figures", view.problems)
    else:
        columns, rows = view_of.table_rows(view, more=more)
        emit_table(None, columns, rows)


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


def _listed(info, cluster: str | None):
    from nsctl.client.broker_fanout import listed_brokers

    return listed_brokers(info, cluster)
