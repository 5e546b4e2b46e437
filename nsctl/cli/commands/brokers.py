"""`nsctl brokerStatus`: every runtime figure one broker (-b) or each broker of a cluster (-c)
reports, keys sorted, as mqadmin prints them."""

from __future__ import annotations

from typing import Annotated, Any

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
    from nsctl.cli.broker_answers import answer_json, ask_brokers, report_failures
    from nsctl.cli.mqadmin import broker_text

    if broker_addr is not None:
        address = broker_addr.strip()
        from nsctl.client.broker_client import BrokerClient
        from nsctl.client.discovery import split_host_port

        try:
            split_host_port(address)
        except ValueError:
            fail(f"invalid broker address {address!r}: expected host:port", EXIT_USAGE)

        with BrokerClient(
            address,
            timeout=target.timeout,
            connect_timeout=target.timeout,
            ssl_context=target.ssl_context,
        ) as client:
            runtime = client.get_broker_runtime_info()
        if target.output == Output.json:
            emit_json({"address": address, "runtime": dict(sorted(runtime.table.items()))})
        elif target.output == Output.plain:
            emit_lines(broker_text.broker_status_lines(runtime))
        else:
            _table([(address, runtime)])
        return

    name = cluster.strip()
    info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
    addresses = broker_text.cluster_status_addresses(info, name)
    if addresses is None:
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {name!r} not found (known: {known})")
    answers = ask_brokers(target, addresses, lambda client: client.get_broker_runtime_info())
    if target.output == Output.json:
        brokers: list[dict[str, Any]] = []
        for address in sorted(addresses):
            answer = answers[address]
            runtime = answer.value
            brokers.append(
                {
                    "address": address,
                    **answer_json(answer),
                    "runtime": None if runtime is None else dict(sorted(runtime.table.items())),
                }
            )
        emit_json({"cluster": name, "brokers": brokers})
    elif target.output == Output.plain:
        for address in addresses:
            if answers[address].value is not None:
                emit_lines(broker_text.broker_status_lines(answers[address].value, address))
    else:
        _table([(a, answers[a].value) for a in sorted(addresses) if answers[a].value is not None])
    code = report_failures(answers)
    if code:
        raise typer.Exit(code)


def _table(runtimes: list[tuple[str, Any]]) -> None:
    from nsctl.protocol.broker_models import utf16_order

    rows = [
        (address, key, runtime.table[key])
        for address, runtime in runtimes
        for key in sorted(runtime.table, key=utf16_order)
    ]
    emit_table(None, ("Broker", "Key", "Value"), rows)
