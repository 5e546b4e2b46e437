"""Topic reads and the order conf: topicRoute, topicList, topicClusterList, updateOrderConf, and
topicStatus (per-queue offsets asked of each broker of the route)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from nsctl.cli.commands.each import EachOption, show_each
from nsctl.cli.failures import EXIT_USAGE, fail
from nsctl.cli.fanout import absent_on, report_fanout
from nsctl.cli.mqadmin.route_text import route_list, route_pretty
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE, perm_to_string

if TYPE_CHECKING:
    from nsctl.cli.views.topic_status import StatsAndConfig
    from nsctl.client.broker_client import AsyncBrokerClient

TopicOption = Annotated[str, typer.Option("-t", "--topic", help="Topic name.", show_default=False)]


@nameserver_command("topicRoute", help="Show a topic's route: queues per broker, addresses.")
def topic_route(
    target: Target,
    topic: TopicOption,
    as_list: Annotated[
        bool,
        typer.Option(
            "-l", "--list", help="mqadmin's list layout (a text layout: not with -o json)."
        ),
    ] = False,
    each: EachOption = False,
) -> None:
    if as_list and target.output == Output.json:
        fail("-l/--list is mqadmin's text layout; it cannot be combined with -o json", EXIT_USAGE)
    if each:
        from nsctl.client.errors import TopicNotFoundError

        if as_list:
            fail(
                "-l/--list is one NameServer's text: it cannot be combined with --each", EXIT_USAGE
            )
        show_each(
            target,
            f"Route of {topic} on each NameServer",
            lambda client: client.query_topic_route_info(topic),
            _route_items,
            absent=(TopicNotFoundError,),
            document=lambda route: route.to_wire(),
        )
        return
    route = target.manager.get_topic_route(topic)
    if target.output == Output.json:
        emit_json(route.to_wire())
    elif as_list:  # mqadmin's habit: -l alone gives the list layout
        emit_lines(route_list(route))
    elif target.output == Output.plain:
        emit_lines([route_pretty(route)])
    else:
        rows = []
        for broker in sorted(route.broker_datas, key=lambda b: b.broker_name):
            queue = route.queue_data(broker.broker_name)
            addresses = ", ".join(
                f"{'master' if i == 0 else f'slave {i}'} {a}"
                for i, a in sorted(broker.broker_addrs.items())
            )
            rows.append(
                (
                    broker.broker_name,
                    broker.cluster,
                    queue.read_queue_nums if queue else "-",
                    queue.write_queue_nums if queue else "-",
                    f"{perm_to_string(queue.perm)} ({queue.perm})" if queue else "-",
                    addresses or "(no address)",
                )
            )
        caption = f"order conf: {route.order_topic_conf}" if route.order_topic_conf else None
        emit_table(
            f"Route of {topic}",
            ("Broker", "Cluster", "Read", "Write", "Perm", "Addresses"),
            rows,
            caption=caption,
        )


@nameserver_command(
    "topicList", help="List all topics, those of one cluster (-c), or system topics (--system)."
)
def topic_list(
    target: Target,
    cluster: Annotated[
        str | None, typer.Option("-c", "--cluster", help="Only this cluster's topics.")
    ] = None,
    system: Annotated[bool, typer.Option("--system", help="System topics only.")] = False,
    each: EachOption = False,
) -> None:
    if cluster is not None and system:
        fail("-c/--cluster and --system cannot be combined", EXIT_USAGE)
    if each:
        if system or cluster is not None:
            fail("--each compares the whole topic list: not with -c or --system", EXIT_USAGE)
        show_each(
            target,
            "Topics on each NameServer",
            lambda client: client.get_all_topic_list(),
            lambda topics: dict.fromkeys(topics.topic_list, "listed"),
            document=lambda topics: topics.to_wire(),
        )
        return
    if system:
        topics = target.manager.invoke(lambda client: client.get_system_topic_list())
    elif cluster is not None:
        # A NameServer answers an empty list for a cluster it does not know: say so instead,
        # as clusterList -c does.
        info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
        if cluster not in info.cluster_addr_table:
            known = ", ".join(sorted(info.cluster_addr_table)) or "none"
            fail(f"cluster {cluster!r} not found (known: {known})")
        topics = target.manager.invoke(lambda client: client.get_topics_by_cluster(cluster))
    else:
        topics = target.manager.invoke(lambda client: client.get_all_topic_list())
    names = topics.topic_list
    if target.output == Output.json:
        emit_json(topics.to_wire())
    elif target.output == Output.plain:
        emit_lines(names)
    else:
        emit_table(None, ("Topic",), [(n,) for n in sorted(names)], caption=f"{len(names)} topics")


@nameserver_command("topicClusterList", help="List the clusters a topic lives in.")
def topic_cluster_list(target: Target, topic: TopicOption) -> None:
    route = target.manager.get_topic_route(topic)
    info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
    brokers = {b.broker_name for b in route.broker_datas}
    clusters = sorted(
        name for name, members in info.cluster_addr_table.items() if brokers & set(members)
    )
    if target.output == Output.json:
        emit_json({"topic": topic, "clusters": clusters})
    elif target.output == Output.plain:
        emit_lines(clusters)
    else:
        emit_table(f"Clusters of {topic}", ("Cluster",), [(c,) for c in clusters])


class OrderMethod(str, enum.Enum):
    get = "get"
    put = "put"
    delete = "delete"


@nameserver_command(
    "updateOrderConf",
    help="Get, put or delete a topic's order config (namespace ORDER_TOPIC_CONFIG), "
    "e.g. -v 'broker-a:4;broker-b:4'.",
)
def update_order_conf(
    target: Target,
    topic: TopicOption,
    method: Annotated[OrderMethod, typer.Option("-m", "--method", help="get, put or delete.")],
    order_conf: Annotated[
        str | None,
        typer.Option("-v", "--orderConf", help="brokerName:queues;... (required for put)."),
    ] = None,
) -> None:
    namespace = ORDER_TOPIC_CONFIG_NAMESPACE
    if method == OrderMethod.get:
        value = target.manager.invoke(lambda client: client.get_kv_config(namespace, topic))
        if target.output == Output.json:
            emit_json({"topic": topic, "orderConf": value})
        elif target.output == Output.plain:
            emit_lines([f"get orderConf success. topic=[{topic}], orderConf=[{value}] "])
        else:
            emit_lines([f"{topic}: {value}"])
        return
    if method == OrderMethod.put:
        if not order_conf:
            fail("please set orderConf with option -v.", EXIT_USAGE)
        conf = order_conf.strip()
        results = target.manager.broadcast(
            lambda client: client.put_kv_config(namespace, topic, conf)
        )
        text = f"update orderConf success. topic=[{topic}], orderConf=[{conf}]"
    else:
        from nsctl.cli.commands.kv import delete_key

        results = target.manager.broadcast(lambda client: delete_key(client, namespace, topic))
        text = f"delete orderConf success. topic=[{topic}]"
    report_fanout(
        target,
        results,
        ok_line=lambda address, _: text if target.output == Output.plain else f"{address}: {text}",
        summary={"topic": topic, "method": method.value, "orderConf": order_conf},
        warning=absent_on(results, f"order config of {topic}"),
    )


@nameserver_command(
    "topicStatus",
    help="Min and max offset and last update time of every queue of a topic, asked of each of "
    "its brokers at once (the master, else a slave). Times are local. Exit 1 when the topic has "
    "no route or no queue statistics, 3 when a broker cannot be reached (the others are "
    "printed all the same).",
)
def topic_status(
    target: Target,
    topic: Annotated[str, typer.Option("-t", "--topic", help="Topic name.", show_default=False)],
    route_of: Annotated[
        str | None,
        typer.Option(
            "-c",
            "--cluster",
            help="Ask the brokers of this cluster's route (a cluster name, or the parent topic "
            "of an LMQ) instead of the topic's own route.",
            show_default=False,
        ),
    ] = None,
) -> None:
    from nsctl.cli.broker_answers import ask_brokers, report_failures, warn_brokers
    from nsctl.cli.views import topic_status as view_of
    from nsctl.cli.views.broker_answers import name_broker

    topic = topic.strip()
    route_topic = route_of.strip() if route_of is not None else topic
    route = _route_for_status(target, route_topic, by_cluster=route_of is not None)
    addresses: dict[str, str] = {}  # broker address -> broker name
    names: dict[str, str] = {}  # broker address -> how messages name it
    for broker in route.broker_datas:
        address = broker.select_addr()
        if address is not None:
            addresses[address] = broker.broker_name
            broker_id = next(i for i, a in broker.broker_addrs.items() if a == address)
            names[address] = name_broker(broker.broker_name, address, broker_id)

    async def stats_and_config(client: AsyncBrokerClient) -> StatsAndConfig:
        from nsctl.client.errors import TopicNotFoundError

        stats = await client.get_topic_stats_info(topic)
        try:
            config = await client.get_topic_config(topic)
        except TopicNotFoundError:  # tolerated, as mqadmin does
            config = None
        return stats, config

    answers = ask_brokers(target, addresses, stats_and_config)
    view = view_of.topic_status_view(topic, addresses, answers)
    if view.static_on:
        warn_brokers(
            f"{topic} is a static topic; its queues are shown as the brokers hold them, "
            "not as logical queues",
            view.static_on,
        )
    code = report_failures(answers, names)
    if not view.offsets and not code:
        fail(f"no queue statistics for topic {topic!r} on its brokers")
    if target.output == Output.json:
        emit_json(view_of.json_document(view))
    elif target.output == Output.plain:
        emit_lines(view_of.plain_lines(view))
    else:
        emit_table(
            f"{topic}: put TPS {view.put_tps:.2f}", view_of.TABLE_COLUMNS, view_of.table_rows(view)
        )
    if code:
        raise typer.Exit(code)


def _route_for_status(target: Target, name: str, *, by_cluster: bool):
    """The route topicStatus asks the brokers of. With -c the name is a cluster (or an LMQ's
    parent topic): a name that is neither is said to be an unknown cluster, as -c says
    everywhere else, not an unknown topic."""
    from nsctl.client.errors import TopicNotFoundError

    try:
        return target.manager.invoke(lambda client: client.query_topic_route_info(name))
    except TopicNotFoundError:
        if not by_cluster:
            raise
        info = target.manager.invoke(lambda client: client.get_broker_cluster_info())
        if name in info.cluster_addr_table:
            raise
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {name!r} not found (known: {known})")


def _route_items(route) -> dict[str, object]:
    """A route item by item: each broker group's addresses and each one's queues."""
    items: dict[str, object] = {}
    for broker in route.broker_datas:
        addrs = ", ".join(f"{i}={a}" for i, a in sorted(broker.broker_addrs.items()))
        items[f"{broker.broker_name} addresses"] = f"{broker.cluster}: {addrs}"
    for queue in route.queue_datas:
        items[f"{queue.broker_name} queues"] = (
            f"read {queue.read_queue_nums} write {queue.write_queue_nums} perm {queue.perm}"
        )
    if route.order_topic_conf:
        items["orderTopicConf"] = route.order_topic_conf
    return items
