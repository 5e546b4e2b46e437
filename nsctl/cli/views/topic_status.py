"""topicStatus's view: the topic's queues with their offsets (sorted as mqadmin sorts message
queues), the summed put TPS, and one row per broker asked, computed once for every format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nsctl.cli.mqadmin.broker_text import human_time, topic_status_lines
from nsctl.cli.views.broker_answers import answer_json

if TYPE_CHECKING:
    from nsctl.client.broker_fanout import BrokerAnswer
    from nsctl.protocol.broker_models import (
        BrokerTopicConfig,
        MessageQueue,
        TopicOffset,
        TopicStatsTable,
    )

StatsAndConfig = tuple["TopicStatsTable", "BrokerTopicConfig | None"]

TABLE_COLUMNS = ("Broker", "QID", "Min Offset", "Max Offset", "Last Updated")


@dataclass(frozen=True)
class BrokerRow:
    broker_name: str
    address: str
    answer: BrokerAnswer[StatsAndConfig]

    @property
    def stats(self) -> TopicStatsTable | None:
        return self.answer.value[0] if self.answer.value is not None else None

    @property
    def static_topic(self) -> bool | None:
        """Whether the broker holds the topic as a static topic (None: it did not answer)."""
        if self.answer.value is None:
            return None
        config = self.answer.value[1]
        return config is not None and config.mapping_detail is not None


@dataclass(frozen=True)
class TopicStatusView:
    topic: str
    offsets: dict[MessageQueue, TopicOffset]
    queues: list[MessageQueue]
    put_tps: float
    brokers: list[BrokerRow]

    @property
    def static_on(self) -> list[str]:
        return [row.address for row in self.brokers if row.static_topic]


def topic_status_view(
    topic: str, brokers: dict[str, str], answers: dict[str, BrokerAnswer[StatsAndConfig]]
) -> TopicStatusView:
    """`brokers`: address -> broker name of every broker asked, in the route's order."""
    from nsctl.protocol.broker_models import MessageQueue

    rows = [BrokerRow(name, address, answers[address]) for address, name in brokers.items()]
    offsets: dict[MessageQueue, TopicOffset] = {}
    put_tps = 0.0
    for row in rows:
        if row.stats is not None:
            offsets.update(row.stats.offset_table)
            put_tps += row.stats.topic_put_tps
    queues = sorted(offsets, key=MessageQueue.sort_key)
    return TopicStatusView(topic, offsets, queues, put_tps, rows)


def table_rows(view: TopicStatusView) -> list[tuple[Any, ...]]:
    rows = []
    for queue in view.queues:
        offset = view.offsets[queue]
        stamp = offset.last_update_timestamp
        rows.append(
            (
                queue.broker_name,
                queue.queue_id,
                offset.min_offset,
                offset.max_offset,
                human_time(stamp) if stamp > 0 else "",
            )
        )
    return rows


def json_document(view: TopicStatusView) -> dict[str, Any]:
    return {
        "topic": view.topic,
        "topicPutTps": view.put_tps,
        "queues": [
            {
                "brokerName": q.broker_name,
                "queueId": q.queue_id,
                "minOffset": view.offsets[q].min_offset,
                "maxOffset": view.offsets[q].max_offset,
                "lastUpdateTimestamp": view.offsets[q].last_update_timestamp,
            }
            for q in view.queues
        ],
        "brokers": [
            {
                "brokerName": row.broker_name,
                "address": row.address,
                **answer_json(row.answer),
                "topicPutTps": None if row.stats is None else row.stats.topic_put_tps,
                "staticTopic": row.static_topic,
            }
            for row in view.brokers
        ],
    }


def plain_lines(view: TopicStatusView) -> list[str]:
    return topic_status_lines(view.offsets, view.put_tps)
