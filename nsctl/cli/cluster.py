"""Cluster commands: wipeWritePerm, addWritePerm (clusterList lives in `cluster_list`)."""

from __future__ import annotations

from typing import Annotated

import typer

from nsctl.cli.common import Target, nameserver_command
from nsctl.cli.fanout import report_fanout

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
