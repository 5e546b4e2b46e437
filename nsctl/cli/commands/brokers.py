"""`nsctl brokerStatus`: every runtime figure one broker (-b) or each broker of a cluster (-c)
reports, keys sorted, as mqadmin prints them."""

from __future__ import annotations

from typing import Annotated

import typer

from nsctl.cli.failures import EXIT_USAGE, fail
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target


@nameserver_command(
    "brokerStatus",
    help="Every runtime figure a broker reports (GET_BROKER_RUNTIME_INFO), keys sorted: of the "
    "broker at -b ADDR (no NameServer needed), or of every broker address of cluster -c "
    "(masters and slaves, asked at once). Exit 3 when a broker cannot be reached, 1 when one "
    "answers with an error; the others are printed all the same.",
)
def broker_status(
    target: Target,
    broker_addr: Annotated[
        str | None,
        typer.Option("-b", "--brokerAddr", help="Broker address host:port.", show_default=False),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "-c", "--clusterName", help="Every broker of this cluster.", show_default=False
        ),
    ] = None,
) -> None:
    if (broker_addr is None) == (cluster is None):
        fail("give exactly one of -b/--brokerAddr and -c/--clusterName", EXIT_USAGE)
    from nsctl.cli.views import broker_status as view_of

    if broker_addr is not None:
        address = broker_addr.strip()
        from nsctl.client.broker_client import BrokerClient
        from nsctl.client.broker_fanout import BrokerAnswer
        from nsctl.client.discovery import split_host_port

        try:
            split_host_port(address)
        except ValueError:
            fail(f"invalid broker address {address!r}: expected host:port", EXIT_USAGE)

        with BrokerClient(address, **target.connection) as client:
            runtime = client.get_broker_runtime_info()
        _show(target, view_of.BrokerStatusView(None, {address: BrokerAnswer(address, runtime)}))
        return

    from nsctl.cli.broker_answers import ask_brokers, report_failures
    from nsctl.cli.mqadmin.broker_text import cluster_status_addresses

    name = cluster.strip()
    info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
    addresses = cluster_status_addresses(info, name)
    if addresses is None:
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {name!r} not found (known: {known})")
    answers = ask_brokers(target, addresses, lambda client: client.get_broker_runtime_info())
    _show(target, view_of.BrokerStatusView(name, {a: answers[a] for a in addresses}))
    from nsctl.cli.views.broker_answers import describe
    from nsctl.client.broker_fanout import listed_brokers

    code = report_failures(answers, {b.address: describe(b) for b in listed_brokers(info, name)})
    if code:
        raise typer.Exit(code)


def _show(target: Target, view) -> None:
    from nsctl.cli.views import broker_status as view_of

    if target.output == Output.json:
        emit_json(view_of.json_document(view))
    elif target.output == Output.plain:
        emit_lines(view_of.plain_lines(view))
    else:
        emit_table(None, view_of.TABLE_COLUMNS, view_of.table_rows(view))
