"""Cluster commands: clusterList, wipeWritePerm, addWritePerm."""

from __future__ import annotations

from typing import Annotated

import typer

from nsctl.cli.common import Output, Target, fail, nameserver_command
from nsctl.cli.fanout import report_fanout
from nsctl.cli.mqadmin_text import cluster_list
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.protocol.codes import MASTER_ID

BrokerNameOption = Annotated[
    str, typer.Option("-b", "--brokerName", help="Broker name.", show_default=False)
]


@nameserver_command("clusterList", help="List clusters, their brokers, ids and addresses.")
def cluster_list_command(
    target: Target,
    cluster: Annotated[
        str | None, typer.Option("-c", "--clusterName", help="Only this cluster.")
    ] = None,
) -> None:
    info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
    if cluster is not None and cluster not in info.cluster_addr_table:
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {cluster!r} not found (known: {known})")
    if target.output == Output.json:
        data = info.to_wire()
        if cluster is not None:
            members = info.cluster_addr_table[cluster]
            data = {
                "brokerAddrTable": {
                    k: v for k, v in data["brokerAddrTable"].items() if k in members
                },
                "clusterAddrTable": {cluster: members},
            }
        emit_json(data)
    elif target.output == Output.plain:
        emit_lines(cluster_list(info, cluster))
    else:
        rows = []
        for name in sorted(info.cluster_addr_table):
            if cluster is not None and name != cluster:
                continue
            for broker_name in sorted(info.cluster_addr_table[name]):
                broker = info.broker_addr_table.get(broker_name)
                for broker_id, address in sorted((broker.broker_addrs if broker else {}).items()):
                    role = "master" if broker_id == MASTER_ID else "slave"
                    rows.append((name, broker_name, broker_id, role, address))
        emit_table(None, ("Cluster", "Broker", "BID", "Role", "Address"), rows)


def _write_perm(target: Target, broker_name: str, *, wipe: bool) -> None:
    if wipe:
        results = target.manager.broadcast(
            lambda client: client.wipe_write_perm_of_broker(broker_name)
        )
        verb, field = "wipe", "wipeTopicCount"
    else:
        results = target.manager.broadcast(
            lambda client: client.add_write_perm_of_broker(broker_name)
        )
        verb, field = "add", "addTopicCount"
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
