"""Consumer-group writes through the brokers: updateSubGroup and deleteSubGroup (which, with
-c, also deletes the group's %RETRY% and %DLQ% topics on the masters and the NameServers, as
mqadmin does), each with `--wait`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from nsctl.cli.commands import broker_writes as w
from nsctl.cli.failures import EXIT_USAGE, fail
from nsctl.cli.mqadmin import admin_text
from nsctl.cli.options import nameserver_command
from nsctl.cli.target import Target

if TYPE_CHECKING:
    from nsctl.client.broker_client import AsyncBrokerClient

GroupOption = Annotated[
    str, typer.Option("-g", "--groupName", help="Consumer group name.", show_default=False)
]


def _flag(letter: str, name: str, help: str) -> Any:
    return typer.Option(
        f"-{letter}" if letter else f"--{name}",
        *([f"--{name}"] if letter else []),
        help=help,
        metavar="true|false",
        show_default=False,
    )


async def _groups(client: AsyncBrokerClient) -> dict[str, Any]:
    return (await client.get_all_subscription_group_config()).subscription_group_table


@nameserver_command(
    "updateSubGroup",
    own_o=True,
    help="Create or change a consumer group on every master of a cluster (-c) or on one broker "
    "(-b), with mqadmin's options. A broker that already holds this config is left alone "
    "('no change'). -o takes true|false (consumeMessageOrderly) or an output format.",
)
def update_sub_group(
    target: Target,
    group: GroupOption,
    cluster: w.ClusterOption = None,
    broker_addr: w.BrokerAddrOption = None,
    consume_enable: Annotated[str | None, _flag("s", "consumeEnable", "Consuming on.")] = None,
    from_min: Annotated[
        str | None, _flag("m", "consumeFromMinEnable", "Start from the minimum offset.")
    ] = None,
    broadcast: Annotated[
        str | None, _flag("d", "consumeBroadcastEnable", "Broadcast consumption.")
    ] = None,
    orderly: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--consumeMessageOrderly",
            help="true|false: consume in order; -o also takes table|json|plain.",
            metavar="true|false",
            show_default=False,
        ),
    ] = None,
    retry_queues: Annotated[
        int | None, typer.Option("-q", "--retryQueueNums", help="Retry queues (1).", min=0)
    ] = None,
    retry_max: Annotated[
        int | None, typer.Option("-r", "--retryMaxTimes", help="Retries before the DLQ (16).")
    ] = None,
    retry_policy: Annotated[
        str | None,
        typer.Option(
            "-p",
            "--groupRetryPolicy",
            help='Retry policy as JSON, e.g. {"type":"EXPONENTIAL","exponentialRetryPolicy":'
            '{"initial":5000,"max":7200000,"multiplier":2}}.',
            show_default=False,
        ),
    ] = None,
    broker_id: Annotated[
        int | None, typer.Option("-i", "--brokerId", help="Consume from this broker id (0).")
    ] = None,
    slow_broker: Annotated[
        int | None,
        typer.Option("-w", "--whichBrokerWhenConsumeSlowly", help="Broker id when slow (1)."),
    ] = None,
    notify: Annotated[
        str | None, _flag("a", "notifyConsumerIdsChanged", "Notify consumer id changes.")
    ] = None,
    attributes: Annotated[
        str | None,
        typer.Option("--attributes", help="Attribute edits: +key=value,-key.", show_default=False),
    ] = None,
    wait: w.WaitOption = None,
) -> None:
    import json

    from nsctl.protocol import broker_admin as admin

    is_orderly, target.output = w.order_and_output(orderly, target, "-o/--consumeMessageOrderly")
    cluster, broker_addr = w.one_of(cluster, broker_addr)
    try:
        group = admin.validate_group(group.strip())
        edits = admin.parse_attributes(attributes.strip() if attributes else None)
        policy = (
            admin.GroupRetryPolicy.from_wire(json.loads(retry_policy))
            if retry_policy is not None
            else admin.GroupRetryPolicy()
        )
    except (admin.InvalidArgument, ValueError) as error:
        fail(f"{error}", EXIT_USAGE)
    # mqadmin's defaults: broadcast and from-min off, the rest as the broker's.
    config = admin.SubscriptionGroupConfig(
        group_name=group, consume_broadcast_enable=False, consume_from_min_enable=False
    )
    for flag, name, value in (
        ("-s/--consumeEnable", "consume_enable", consume_enable),
        ("-m/--consumeFromMinEnable", "consume_from_min_enable", from_min),
        ("-d/--consumeBroadcastEnable", "consume_broadcast_enable", broadcast),
        ("-a/--notifyConsumerIdsChanged", "notify_consumer_ids_changed_enable", notify),
    ):
        chosen = w.true_or_false(flag, value)
        if chosen is not None:
            setattr(config, name, chosen)
    if is_orderly is not None:
        config.consume_message_orderly = is_orderly
    for name, value in (
        ("retry_queue_nums", retry_queues),
        ("retry_max_times", retry_max),
        ("broker_id", broker_id),
        ("which_broker_when_consume_slowly", slow_broker),
    ):
        if value is not None:
            setattr(config, name, value)
    config.group_retry_policy = policy
    if edits:
        config.attributes = dict(edits.set)
    brokers, info = w.targets(target, cluster, broker_addr)
    w.names_from(info, brokers, target)
    line = admin_text.create_group_line

    async def change(client: AsyncBrokerClient) -> tuple[bool, list[str], str]:
        current = (await _groups(client)).get(group)
        if current == config and not edits:
            return False, [line(client.address)], "create group"
        await client.update_and_create_subscription_group(config)
        return True, [line(client.address)], "create group" if current is None else "update group"

    report = w.WriteReport({"group": group})
    report.outcomes += w.on_brokers(target, brokers, "create group", change)
    report.closing = [admin_text.subscription_group_config(config)]
    if wait is not None and report.ok:
        report.waits.append(("broker", _wait_brokers(target, wait, list(brokers), group, True)))
    w.finish(target, report)
    # mqadmin prints the config without a final newline; scripts reading lines get one.


def _wait_brokers(target, seconds, addresses, group, present: bool):
    """--wait for groups: the brokers themselves hold groups (NameServers know nothing of
    them), so wait until every broker written shows (or no longer shows) the group."""

    def shows(client) -> str | None:
        held = group in client.get_all_subscription_group_config().subscription_group_table
        if held == present:
            return None
        return "does not have it yet" if present else "still has it"

    return w.wait_for(target, seconds, shows, brokers=addresses)


@nameserver_command(
    "deleteSubGroup",
    help="Delete a consumer group on every master of a cluster (-c; also deletes its %RETRY% "
    "and %DLQ% topics on the masters and the NameServers, as mqadmin does) or on one broker "
    "(-b; the group only).",
)
def delete_sub_group(
    target: Target,
    group: GroupOption,
    cluster: w.ClusterOption = None,
    broker_addr: w.BrokerAddrOption = None,
    remove_offset: Annotated[
        str | None, _flag("r", "removeOffset", "Also drop the group's consumer offsets.")
    ] = None,
    wait: w.WaitOption = None,
) -> None:
    from nsctl.cli.commands.topic_admin import delete_everywhere
    from nsctl.protocol import broker_admin as admin

    cluster, broker_addr = w.one_of(cluster, broker_addr)
    group = group.strip()
    clean = bool(w.true_or_false("-r/--removeOffset", remove_offset))
    brokers, info = w.targets(target, cluster, broker_addr)
    w.names_from(info, brokers, target)
    line = admin_text.delete_group_line

    async def change(client: AsyncBrokerClient) -> tuple[bool, list[str]]:
        existed = group in await _groups(client)
        await client.delete_subscription_group(group, clean)
        return existed, [line(group, client.address, cluster)]

    report = w.WriteReport({"group": group, **({"cluster": cluster} if cluster else {})})
    report.outcomes += w.on_brokers(target, brokers, "delete group", change)
    topics = [admin.retry_topic(group), admin.dlq_topic(group)]
    if cluster is not None and report.ok:
        for topic in topics:
            delete_everywhere(target, report, topic, cluster, with_cluster=False)
    if wait is not None and report.ok:
        import time

        from nsctl.client.convergence import route_gone

        deadline = time.monotonic() + wait
        report.waits.append(("broker", _wait_brokers(target, wait, list(brokers), group, False)))
        if cluster is not None:
            for topic in topics:
                left = max(0.0, deadline - time.monotonic())
                report.waits.append(("namesrv", w.wait_for(target, left, route_gone(topic))))
    w.finish(target, report)
