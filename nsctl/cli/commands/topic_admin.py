"""Topic writes through the brokers: updateTopic, updateTopicPerm and deleteTopic (on the
masters, then on every NameServer; `--namesrv-only` for the route alone), each with `--wait`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from nsctl.cli.commands import broker_writes as w
from nsctl.cli.failures import EXIT_USAGE, fail
from nsctl.cli.mqadmin import admin_text
from nsctl.cli.options import nameserver_command
from nsctl.cli.target import Target

if TYPE_CHECKING:
    from nsctl.client.broker_client import AsyncBrokerClient
    from nsctl.protocol.register import TopicConfig

TopicOption = Annotated[str, typer.Option("-t", "--topic", help="Topic name.", show_default=False)]
BoolText = Annotated[
    str | None,
    typer.Option(metavar="true|false", show_default=False),
]


def _checked(check, *args):
    """Run a validation of `nsctl.protocol.broker_admin`; its complaint is a usage error."""
    from nsctl.protocol.broker_admin import InvalidArgument

    try:
        return check(*args)
    except InvalidArgument as error:
        fail(str(error), EXIT_USAGE)


def _same(current: TopicConfig | None, wanted: TopicConfig, edits) -> bool:
    if current is None or edits:
        return False
    fields = ("read_queue_nums", "write_queue_nums", "perm", "topic_sys_flag", "order")
    return all(getattr(current, f) == getattr(wanted, f) for f in fields)


async def _current(client: AsyncBrokerClient, topic: str) -> TopicConfig | None:
    from nsctl.client.errors import TopicNotFoundError

    try:
        found = await client.get_topic_config(topic)
    except TopicNotFoundError:
        return None
    return found.config


@nameserver_command(
    "updateTopic",
    own_o=True,
    help="Create a topic, or change its queues, perm, order and attributes, on every master of "
    "a cluster (-c) or on one broker (-b); each broker then tells the NameServers. A broker "
    "that already holds this config is left alone ('no change'). -o takes true|false (order, "
    "as in mqadmin) or an output format.",
)
def update_topic(
    target: Target,
    topic: TopicOption,
    cluster: w.ClusterOption = None,
    broker_addr: w.BrokerAddrOption = None,
    read_queues: Annotated[int, typer.Option("-r", "--readQueueNums", help="Read queues.")] = 8,
    write_queues: Annotated[int, typer.Option("-w", "--writeQueueNums", help="Write queues.")] = 8,
    perm: Annotated[int, typer.Option("-p", "--perm", help="2 (W), 4 (R) or 6 (RW).")] = 6,
    order: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--order",
            help="true|false: an order topic (also writes ORDER_TOPIC_CONFIG on every "
            "NameServer, as mqadmin does); -o also takes table|json|plain.",
            metavar="true|false",
            show_default=False,
        ),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(
            "-u",
            "--unit",
            help="A unit topic (true|false).",
            metavar="true|false",
            show_default=False,
        ),
    ] = None,
    has_unit_sub: Annotated[
        str | None,
        typer.Option(
            "-s",
            "--hasUnitSub",
            help="Has unit subscriptions (true|false).",
            metavar="true|false",
            show_default=False,
        ),
    ] = None,
    attributes: Annotated[
        str | None,
        typer.Option(
            "-a", "--attributes", help="Attribute edits: +key=value,-key.", show_default=False
        ),
    ] = None,
    wait: w.WaitOption = None,
) -> None:
    from nsctl.protocol import broker_admin as admin
    from nsctl.protocol.register import TopicConfig

    is_order, target.output = w.order_and_output(order, target, "-o/--order")
    cluster, broker_addr = w.one_of(cluster, broker_addr)
    topic = _checked(admin.validate_topic, topic.strip())
    _checked(admin.validate_queue_nums, read_queues, write_queues)
    _checked(admin.validate_perm, perm)
    edits = _checked(admin.parse_attributes, attributes.strip() if attributes else None)
    sys_flag = (1 if w.true_or_false("-u/--unit", unit) else 0) | (
        2 if w.true_or_false("-s/--hasUnitSub", has_unit_sub) else 0
    )
    config = TopicConfig(
        topic_name=topic,
        read_queue_nums=read_queues,
        write_queue_nums=write_queues,
        perm=perm,
        topic_sys_flag=sys_flag,
        order=bool(is_order),
    )
    brokers, info = w.targets(target, cluster, broker_addr)
    w.names_from(info, brokers, target)

    async def change(client: AsyncBrokerClient) -> tuple[bool, list[str], str]:
        lines = [admin_text.create_topic_line(client.address)]
        current = await _current(client, topic)
        if _same(current, config, edits):
            return False, lines, "update topic"
        await client.update_and_create_topic(config, edits or None)
        return True, lines, "create topic" if current is None else "update topic"

    report = w.WriteReport({"topic": topic, "cluster": cluster} if cluster else {"topic": topic})
    report.outcomes += w.on_brokers(target, brokers, "create topic", change)
    if is_order and all(o.ok for o in report.outcomes):
        report.outcomes += _order_conf(target, config, brokers, cluster)
    report.closing = [
        admin_text.topic_config(
            topic,
            read_queues,
            write_queues,
            perm,
            topic_sys_flag=sys_flag,
            order=bool(is_order),
            attributes=_as_given(edits),
        )
    ]
    if wait is not None and report.ok:
        report.waits.append(("namesrv", _wait_queues(target, wait, topic, brokers, config)))
    w.finish(target, report)


def _as_given(edits) -> dict[str, str]:
    """The attribute edits as mqadmin prints them: `+key` -> value, `-key` -> ''."""
    if not edits:
        return {}
    shown = {f"+{k}": v for k, v in edits.set.items()}
    shown.update({f"-{k}": "" for k in edits.delete})
    return shown


def _order_conf(
    target: Target, config: TopicConfig, brokers: dict[str, str | None], cluster: str | None
) -> list[w.Outcome]:
    """ORDER_TOPIC_CONFIG on every NameServer: `broker:writeQueues` for each broker name of
    the cluster (-c), or merged into what is there for the -b broker (as mqadmin does)."""
    from nsctl.cli.mqadmin.java_format import hashmap_order
    from nsctl.client.errors import KVConfigNotFoundError
    from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE as ORDER

    topic, queues = config.topic_name, config.write_queue_nums
    names = [n for n in brokers.values() if n]
    if cluster is None and not names:
        fail("cannot set the order conf: the NameServers do not list this broker")

    def value_for(client) -> str:
        if cluster is not None:
            return ";".join(f"{n}:{queues}" for n in hashmap_order(names))
        try:
            old = client.get_kv_config(ORDER, topic)
        except KVConfigNotFoundError:
            old = ""
        parts = {p.split(":")[0]: p for p in old.split(";") if p}
        parts[names[0]] = f"{names[0]}:{queues}"
        return ";".join(parts.values())

    def put(client) -> bool:
        value = value_for(client)
        try:
            unchanged = client.get_kv_config(ORDER, topic) == value
        except KVConfigNotFoundError:
            unchanged = False
        if not unchanged:
            client.put_kv_config(ORDER, topic, value)
        return not unchanged

    shown = ";".join(f"{n}:{queues}" for n in hashmap_order(names))
    lines = [admin_text.order_conf_line(shown, cluster=cluster is not None)]
    outcomes = w.on_namesrvs(target, "set order conf", put, [])
    if outcomes:
        outcomes[0].lines = lines  # mqadmin prints the line once
    return outcomes


def _wait_queues(target, seconds, topic, brokers, config):
    from nsctl.client.convergence import route_shows_queues

    names = {n for n in brokers.values() if n}
    if len(names) < len(brokers):
        fail(
            "--wait: the NameServers do not list this broker, so its queues cannot be "
            "looked for in the route",
            4,
        )
    expected = {n: (config.read_queue_nums, config.write_queue_nums, config.perm) for n in names}
    return w.wait_for(target, seconds, route_shows_queues(topic, expected))


@nameserver_command(
    "updateTopicPerm",
    help="Change a topic's permission (2 W, 4 R, 6 RW) on every master of a cluster (-c) or "
    "on one broker (-b), keeping its queues as the route shows them.",
)
def update_topic_perm(
    target: Target,
    topic: TopicOption,
    perm: Annotated[int, typer.Option("-p", "--perm", help="2 (W), 4 (R) or 6 (RW).")],
    cluster: w.ClusterOption = None,
    broker_addr: w.BrokerAddrOption = None,
    wait: w.WaitOption = None,
) -> None:
    from nsctl.protocol import broker_admin as admin
    from nsctl.protocol.register import TopicConfig

    cluster, broker_addr = w.one_of(cluster, broker_addr)
    topic = topic.strip()
    _checked(admin.validate_perm, perm)
    route = target.manager.get_topic_route(topic)  # unknown topic: exit 1, nothing sent
    brokers, info = w.targets(target, cluster, broker_addr)
    w.names_from(info, brokers, target)
    for address, name in brokers.items():
        if name is None or route.queue_data(name) is None:
            fail(f"topic {topic!r} has no queues on broker {name or address} in the route")
    configs = {}
    for address, name in brokers.items():
        queue = route.queue_data(name)
        configs[address] = (
            queue.perm,
            TopicConfig(
                topic_name=topic,
                read_queue_nums=queue.read_queue_nums,
                write_queue_nums=queue.write_queue_nums,
                perm=perm,
                topic_sys_flag=queue.topic_sys_flag,
            ),
        )

    async def change(client: AsyncBrokerClient) -> tuple[bool, list[str]]:
        old, config = configs[client.address]
        current = await _current(client, topic)
        if current is not None:
            config.order = current.order
        lines = [admin_text.update_perm_line(old, perm, client.address)]
        if broker_addr is not None:
            lines.append(
                admin_text.topic_config(
                    topic,
                    config.read_queue_nums,
                    config.write_queue_nums,
                    perm,
                    topic_sys_flag=config.topic_sys_flag,
                    order=config.order,
                )
                + "."
            )
        if current is not None and current.perm == perm:
            return False, lines
        await client.update_and_create_topic(config)
        return True, lines

    report = w.WriteReport({"topic": topic, "perm": perm})
    report.outcomes += w.on_brokers(target, brokers, f"set perm {perm}", change)
    if wait is not None and report.ok:
        from nsctl.client.convergence import route_shows_queues

        expected = {
            brokers[a]: (c.read_queue_nums, c.write_queue_nums, perm)
            for a, (_, c) in configs.items()
        }
        report.waits.append(
            ("namesrv", w.wait_for(target, wait, route_shows_queues(topic, expected)))
        )
    w.finish(target, report)


@nameserver_command(
    "deleteTopic",
    help="Delete a topic on every master of a cluster, then its route on every NameServer, so "
    "it stays deleted. With --namesrv-only only the route goes (-c then limits it to that "
    "cluster's queues), and the brokers bring it back at their next registration (30 s).",
)
def delete_topic(
    target: Target,
    topic: TopicOption,
    cluster: Annotated[
        str | None,
        typer.Option(
            "-c",
            "--clusterName",
            "--cluster",
            help="The cluster whose masters delete it.",
            show_default=False,
        ),
    ] = None,
    namesrv_only: Annotated[
        bool,
        typer.Option("--namesrv-only", help="Only the route on the NameServers (it comes back)."),
    ] = False,
    wait: w.WaitOption = None,
) -> None:
    topic = topic.strip()
    if namesrv_only:
        _delete_route_only(target, topic, cluster.strip() if cluster else None)
        return
    if cluster is None:
        fail("-c/--clusterName is required (or --namesrv-only for the route alone)", EXIT_USAGE)
    cluster = cluster.strip()
    report = w.WriteReport({"topic": topic, "cluster": cluster})
    delete_everywhere(target, report, topic, cluster)
    if wait is not None and report.ok:
        from nsctl.client.convergence import route_gone

        info = w.cluster_info(target)
        names = set(info.cluster_addr_table.get(cluster, ()))
        report.waits.append(("namesrv", w.wait_for(target, wait, route_gone(topic, names))))
    if report.ok:
        report.closing = admin_text.delete_topic_lines(topic, cluster)
    w.finish(target, report)


def delete_everywhere(
    target: Target, report: w.WriteReport, topic: str, cluster: str, *, with_cluster: bool = True
) -> None:
    """DELETE_TOPIC_IN_BROKER on every master of `cluster`, then DELETE_TOPIC_IN_NAMESRV on
    every NameServer once the brokers took it (a broker that still holds the topic would
    register it again)."""
    info = w.cluster_info(target)
    brokers = w.masters(info, cluster)

    async def change(client: AsyncBrokerClient) -> tuple[bool, list[str]]:
        existed = await _current(client, topic) is not None
        await client.delete_topic_in_broker(topic)
        return existed, []

    outcomes = w.on_brokers(target, dict(brokers), f"delete topic {topic}", change)
    report.outcomes += outcomes
    if not all(o.ok for o in outcomes):
        return

    def delete_route(client) -> bool:
        existed = _delete_route(client, topic, cluster if with_cluster else None)
        if not with_cluster:  # mqadmin's deleteSubGroup also drops the topic's order conf
            from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE

            client.delete_kv_config(ORDER_TOPIC_CONFIG_NAMESPACE, topic)
        return existed

    report.outcomes += w.on_namesrvs(target, f"delete route of {topic}", delete_route, [])


def _delete_route(client, topic: str, cluster: str | None) -> bool:
    """Delete the topic's route on one NameServer; whether it had one (in `cluster`)."""
    from nsctl.client.errors import TopicNotFoundError

    try:
        route = client.query_topic_route_info(topic)
        existed = cluster is None or any(b.cluster == cluster for b in route.broker_datas)
    except TopicNotFoundError:
        existed = False
    client.delete_topic_in_namesrv(topic, cluster)
    return existed


def _delete_route_only(target: Target, topic: str, cluster: str | None) -> None:
    from nsctl.cli.fanout import absent_on, report_fanout
    from nsctl.cli.target import Output

    results = target.manager.broadcast(lambda client: _delete_route(client, topic, cluster))
    in_cluster = f" in cluster {cluster}" if cluster else ""
    report_fanout(
        target,
        results,
        ok_line=lambda address, existed: (
            f"delete topic [{topic}] from NameServer success."
            if target.output == Output.plain
            else f"{address}: deleted topic {topic}{in_cluster}"
            + ("" if existed else " (it did not exist)")
        ),
        json_fields=lambda address, existed: {"existed": existed},
        summary={"topic": topic, "cluster": cluster},
        warning=absent_on(results, f"topic {topic}{in_cluster}"),
    )
