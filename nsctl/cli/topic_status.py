"""`nsctl topicStatus`: per-queue min/max offsets and last update of a topic, asked of each
broker of its route (GET_TOPIC_STATS_INFO, then GET_TOPIC_CONFIG as mqadmin does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from nsctl.cli.common import Output, Target, fail, nameserver_command
from nsctl.cli.render import emit_json, emit_lines, emit_table

if TYPE_CHECKING:
    from nsctl.client.broker_client import AsyncBrokerClient
    from nsctl.protocol.broker_models import BrokerTopicConfig, TopicStatsTable

StatsAndConfig = tuple["TopicStatsTable", "BrokerTopicConfig | None"]


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
    from nsctl.cli.broker_common import answer_json, ask_brokers, report_failures, warn_brokers

    topic = topic.strip()
    route_topic = route_of.strip() if route_of is not None else topic
    route = target.manager.invoke(lambda client: client.query_topic_route_info(route_topic))
    addresses: dict[str, str] = {}  # broker address -> broker name
    for broker in route.broker_datas:
        address = broker.select_addr()
        if address is not None:
            addresses[address] = broker.broker_name

    async def stats_and_config(client: AsyncBrokerClient) -> StatsAndConfig:
        from nsctl.client.errors import TopicNotFoundError

        stats = await client.get_topic_stats_info(topic)
        try:
            config = await client.get_topic_config(topic)
        except TopicNotFoundError:  # tolerated, as mqadmin does
            config = None
        return stats, config

    answers = ask_brokers(target, addresses, stats_and_config)
    offsets = {}
    put_tps = 0.0
    static_on = []
    for address, answer in answers.items():
        if answer.value is None:
            continue
        stats, config = answer.value
        offsets.update(stats.offset_table)
        put_tps += stats.topic_put_tps
        if config is not None and config.mapping_detail is not None:
            static_on.append(address)
    if static_on:
        warn_brokers(
            f"{topic} is a static topic; its queues are shown as the brokers hold them, "
            "not as logical queues",
            static_on,
        )
    code = report_failures(answers, {a: f"{n} {a}" for a, n in addresses.items()})
    if not offsets and not code:
        fail(f"no queue statistics for topic {topic!r} on its brokers")
    from nsctl.protocol.broker_models import MessageQueue

    queues = sorted(offsets, key=MessageQueue.sort_key)
    if target.output == Output.json:
        brokers: list[dict[str, Any]] = []
        for address, name in addresses.items():
            answer = answers[address]
            stats, config = answer.value if answer.value is not None else (None, None)
            brokers.append(
                {
                    "brokerName": name,
                    "address": address,
                    **answer_json(answer),
                    "topicPutTps": None if stats is None else stats.topic_put_tps,
                    "staticTopic": None
                    if answer.value is None
                    else bool(config is not None and config.mapping_detail is not None),
                }
            )
        emit_json(
            {
                "topic": topic,
                "topicPutTps": put_tps,
                "queues": [
                    {
                        "brokerName": q.broker_name,
                        "queueId": q.queue_id,
                        "minOffset": offsets[q].min_offset,
                        "maxOffset": offsets[q].max_offset,
                        "lastUpdateTimestamp": offsets[q].last_update_timestamp,
                    }
                    for q in queues
                ],
                "brokers": brokers,
            }
        )
    elif target.output == Output.plain:
        from nsctl.cli.broker_text import topic_status_lines

        emit_lines(topic_status_lines(offsets, put_tps))
    else:
        from nsctl.cli.broker_text import human_time

        rows = [
            (
                q.broker_name,
                q.queue_id,
                offsets[q].min_offset,
                offsets[q].max_offset,
                human_time(offsets[q].last_update_timestamp)
                if offsets[q].last_update_timestamp > 0
                else "",
            )
            for q in queues
        ]
        emit_table(
            f"{topic}: put TPS {put_tps:.2f}",
            ("Broker", "QID", "Min Offset", "Max Offset", "Last Updated"),
            rows,
        )
    if code:
        raise typer.Exit(code)
