"""Typed answers of the broker queries nsctl makes (runtime info, topic stats, topic config).

A broker answers GET_BROKER_RUNTIME_INFO with `{"table":{KEY:"VALUE",...}}` (every value a
string), GET_TOPIC_STATS_INFO with a `TopicStatsTable` whose offset map is keyed by
`MessageQueue` objects, and GET_TOPIC_CONFIG with a `TopicConfigAndQueueMapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nsctl.protocol import dialect
from nsctl.protocol.dialect import utf16_order
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.models import KVTable, WireModel, _int, _obj, _str
from nsctl.protocol.object_keys import KeyedPairs, loads_object_keys
from nsctl.protocol.register import TopicConfig


@dataclass(frozen=True, slots=True)
class BrokerRuntimeInfo:
    """The runtime figures a broker reports, exactly as sent (all strings)."""

    table: dict[str, str] = field(default_factory=dict)

    @classmethod
    def decode(cls, body: bytes | str | None) -> BrokerRuntimeInfo:
        return cls(KVTable.decode(body).table)

    def get(self, key: str) -> str | None:
        return self.table.get(key)

    @property
    def version(self) -> str | None:
        return self.table.get("brokerVersionDesc")

    @property
    def active(self) -> bool:
        """As Java's Boolean.parseBoolean reads `brokerActive`: "true" in any case."""
        return (self.table.get("brokerActive") or "").lower() == "true"


@dataclass(frozen=True, slots=True)
class MessageQueue:
    topic: str
    broker_name: str
    queue_id: int

    def sort_key(self) -> tuple[bytes, bytes, int]:
        """Java's MessageQueue.compareTo: topic, then broker name, then queue id."""
        return utf16_order(self.topic), utf16_order(self.broker_name), self.queue_id

    @classmethod
    def from_wire(cls, data: Any) -> MessageQueue:
        d = _obj(data, "MessageQueue")
        return cls(
            topic=_str(d, "topic", "MessageQueue") or "",
            broker_name=_str(d, "brokerName", "MessageQueue") or "",
            queue_id=_int(d, "queueId", "MessageQueue"),
        )

    def to_wire(self) -> dict[str, Any]:
        return {"brokerName": self.broker_name, "queueId": self.queue_id, "topic": self.topic}


@dataclass(frozen=True, slots=True)
class TopicOffset:
    min_offset: int = 0
    max_offset: int = 0
    last_update_timestamp: int = 0

    @classmethod
    def from_wire(cls, data: Any) -> TopicOffset:
        d = _obj(data, "TopicOffset")
        return cls(
            min_offset=_int(d, "minOffset", "TopicOffset"),
            max_offset=_int(d, "maxOffset", "TopicOffset"),
            last_update_timestamp=_int(d, "lastUpdateTimestamp", "TopicOffset"),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "lastUpdateTimestamp": self.last_update_timestamp,
            "maxOffset": self.max_offset,
            "minOffset": self.min_offset,
        }


@dataclass(frozen=True, slots=True)
class TopicStatsTable:
    """Per-queue offsets of one topic on one broker, and the broker's put TPS for it."""

    offset_table: dict[MessageQueue, TopicOffset] = field(default_factory=dict)
    topic_put_tps: float = 0.0

    @classmethod
    def decode(cls, body: bytes | str | None) -> TopicStatsTable:
        if not body:
            raise ProtocolError("TopicStatsTable: the response has no body")
        d = _obj(loads_object_keys(body, "TopicStatsTable"), "TopicStatsTable")
        raw = d.get("offsetTable") or {}
        if isinstance(raw, dict):  # an empty map, or one written with scalar keys
            if raw:
                raise ProtocolError("TopicStatsTable.offsetTable: keys are not MessageQueues")
            entries: list = []
        elif isinstance(raw, KeyedPairs):
            entries = list(raw)
        else:
            raise ProtocolError(
                f"TopicStatsTable.offsetTable: expected a map, got {type(raw).__name__}"
            )
        table = {MessageQueue.from_wire(k): TopicOffset.from_wire(v) for k, v in entries}
        tps = d.get("topicPutTps", 0.0)
        if isinstance(tps, bool) or not isinstance(tps, (int, float)):
            raise ProtocolError(f"TopicStatsTable.topicPutTps: expected a number, got {tps!r}")
        return cls(table, float(tps))

    def encode(self) -> bytes:
        """The body a broker sends: object keys, fastjson style (used by test stand-ins)."""
        entries = ",".join(
            dialect.dumps(mq.to_wire(), sort_keys=True)
            + ":"
            + dialect.dumps(offset.to_wire(), sort_keys=True)
            for mq, offset in self.offset_table.items()
        )
        return (
            '{"offsetTable":{' + entries + '},"topicPutTps":' + repr(self.topic_put_tps) + "}"
        ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class BrokerTopicConfig(WireModel):
    """GET_TOPIC_CONFIG's answer: the topic's config on that broker and, for a static topic,
    its queue mapping (kept as sent: nsctl only reports whether there is one)."""

    config: TopicConfig
    mapping_detail: dict[str, Any] | None = None

    @classmethod
    def from_wire(cls, data: Any) -> BrokerTopicConfig:
        d = _obj(data, "TopicConfigAndQueueMapping")
        detail = d.get("mappingDetail")
        return cls(
            TopicConfig.from_wire(d),
            None if detail is None else _obj(detail, "TopicConfigAndQueueMapping.mappingDetail"),
        )

    def to_wire(self) -> dict[str, Any]:
        wire = self.config.to_wire()
        if self.mapping_detail is not None:
            wire["mappingDetail"] = self.mapping_detail
        return dict(sorted(wire.items()))
