"""Broker administration: the typed forms of topic and subscription-group writes, the tables a
broker hands out, and the checks a 5.3.3 broker (or its client) makes before accepting a write.

Wire facts (5.3.3, confirmed by the captured frames):

- UPDATE_AND_CREATE_TOPIC carries everything in ext fields (`CreateTopicRequestHeader`); the
  broker keeps `attributes` as the edit text (`+k=v,-k`) and applies it to the topic's current
  attributes.
- UPDATE_AND_CREATE_SUBSCRIPTIONGROUP carries the whole `SubscriptionGroupConfig` as the body,
  fastjson's alphabetical key order, null fields left out.
- GET_ALL_TOPIC_CONFIG answers a `TopicConfigSerializeWrapper` (the broker's table in its own
  order, with the static-topic parts); GET_ALL_SUBSCRIPTIONGROUP_CONFIG answers
  `SubscriptionGroupWrapper`.

The checks raise `InvalidArgument` (a `ValueError`) with a one-line message, so a CLI can refuse
a request before sending anything; the stand-in broker uses the same functions to answer as a
broker would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nsctl.protocol.codes import (
    AUTO_CREATE_TOPIC,
    DLQ_GROUP_TOPIC_PREFIX,
    PERM_READ,
    PERM_WRITE,
    RETRY_GROUP_TOPIC_PREFIX,
    SELF_TEST_TOPIC,
    SYSTEM_TOPIC_PREFIX,
)
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.headers import Header
from nsctl.protocol.models import WireModel, _bool, _drop_none, _int, _obj, _str
from nsctl.protocol.register import DataVersion

# --- request headers -----------------------------------------------------------------------
# (Defined here rather than in protocol.headers: they are only used by broker administration.)


class CreateTopicRequestHeader(Header):
    """UPDATE_AND_CREATE_TOPIC (17). mqadmin sends every field, `attributes` "" when none."""

    topic: str | None = None
    default_topic: str | None = None
    read_queue_nums: int | None = None
    write_queue_nums: int | None = None
    perm: int | None = None
    topic_filter_type: str | None = None
    topic_sys_flag: int | None = None
    order: bool | None = None
    attributes: str | None = None
    force: bool | None = None


class DeleteTopicRequestHeader(Header):
    """DELETE_TOPIC_IN_BROKER (215)."""

    topic: str | None = None


class DeleteSubscriptionGroupRequestHeader(Header):
    """DELETE_SUBSCRIPTIONGROUP (207)."""

    group_name: str | None = None
    clean_offset: bool | None = None


# --- validation ----------------------------------------------------------------------------


class InvalidArgument(ValueError):
    """A topic, group, queue count, perm or attribute text a 5.3.3 broker would refuse."""


#: Topic and group names: `^[%|a-zA-Z0-9_-]+$` (TopicValidator's character map).
NAME_PATTERN = "^[%|a-zA-Z0-9_-]+$"
_NAME_CHARS = re.compile(r"[%|a-zA-Z0-9_\-]+")
TOPIC_MAX_LENGTH = 127
GROUP_MAX_LENGTH = 255
#: Queue counts travel as Java ints.
MAX_QUEUE_NUMS = 2**31 - 1
#: The perms mqadmin's updateTopic/updateTopicPerm document: 2 (W), 4 (R), 6 (RW).
USER_PERMS = (PERM_WRITE, PERM_READ, PERM_READ | PERM_WRITE)

#: TopicValidator's fixed system topics; every name starting with `rmq_sys_` is one as well.
SYSTEM_TOPICS = frozenset(
    {
        AUTO_CREATE_TOPIC,
        "SCHEDULE_TOPIC_XXXX",
        "BenchmarkTest",
        "RMQ_SYS_TRANS_HALF_TOPIC",
        "RMQ_SYS_TRACE_TOPIC",
        "RMQ_SYS_TRANS_OP_HALF_TOPIC",
        "TRANS_CHECK_MAX_TIME_TOPIC",
        SELF_TEST_TOPIC,
        "OFFSET_MOVED_EVENT",
        "CHECKPOINT_TOPIC",
    }
)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _java_length(text: str) -> int:
    """String.length(): UTF-16 code units (a character outside the BMP counts twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def topic_name_problem(topic: str | None) -> str | None:
    """TopicValidator.validateTopic's remark for `topic`, or None when the name is fine."""
    if topic is None or _blank(topic):
        return "The specified topic is blank."
    if not _NAME_CHARS.fullmatch(topic):
        return f"The specified topic contains illegal characters, allowing only {NAME_PATTERN}"
    if _java_length(topic) > TOPIC_MAX_LENGTH:
        return "The specified topic is longer than topic max length."
    return None


def is_system_topic(topic: str, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    """TopicValidator.isSystemTopic; `extra` adds the names a broker registers as system topics
    at start (its cluster, its own name, `<cluster>_REPLY_TOPIC`, ...)."""
    return topic in SYSTEM_TOPICS or topic in extra or topic.startswith(SYSTEM_TOPIC_PREFIX)


def system_topic_problem(topic: str, extra: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The remark a 5.3.3 broker gives when asked to create or delete a system topic."""
    if is_system_topic(topic, extra):
        return f"The topic[{topic}] is conflict with system topic."
    return None


def validate_topic(topic: str) -> str:
    """A topic name a 5.3.3 broker accepts for creation or deletion; returns it."""
    problem = topic_name_problem(topic) or system_topic_problem(topic)
    if problem is not None:
        raise InvalidArgument(problem)
    return topic


def validate_group(group: str) -> str:
    """A consumer-group name as the 5.3.3 client checks it (Validators.checkGroup)."""
    if _blank(group):
        raise InvalidArgument("the specified group is blank")
    if _java_length(group) > GROUP_MAX_LENGTH:
        raise InvalidArgument(
            f"the specified group is longer than group max length {GROUP_MAX_LENGTH}."
        )
    if not _NAME_CHARS.fullmatch(group):
        raise InvalidArgument(
            f"the specified group[{group}] contains illegal characters, allowing only "
            f"{NAME_PATTERN}"
        )
    return group


def validate_queue_nums(read_queue_nums: int, write_queue_nums: int) -> None:
    """Both counts positive Java ints (a broker with 0 queues cannot serve the topic)."""
    for name, value in (("readQueueNums", read_queue_nums), ("writeQueueNums", write_queue_nums)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{name} must be a whole number, not {value!r}")
        if not 1 <= value <= MAX_QUEUE_NUMS:
            raise InvalidArgument(f"{name} must be between 1 and {MAX_QUEUE_NUMS}, not {value}")


def validate_perm(perm: int, allowed: tuple[int, ...] = USER_PERMS) -> int:
    """A perm mqadmin documents for a user topic (2 W, 4 R, 6 RW); returns it."""
    if isinstance(perm, bool) or perm not in allowed:
        choices = "|".join(str(p) for p in allowed)
        raise InvalidArgument(f"perm must be one of {choices} (2: W, 4: R, 6: RW), not {perm!r}")
    return perm


def retry_topic(group: str) -> str:
    """`%RETRY%<group>`: where a group's failed messages wait for redelivery."""
    return RETRY_GROUP_TOPIC_PREFIX + group


def dlq_topic(group: str) -> str:
    """`%DLQ%<group>`: where a group's messages land after the last retry."""
    return DLQ_GROUP_TOPIC_PREFIX + group


# --- attributes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute a broker knows: whether an update may change it, and its values."""

    name: str
    changeable: bool
    choices: frozenset[str] | None = None  # an enum attribute
    minimum: int | None = None  # a long-range attribute
    maximum: int | None = None

    def check(self, value: str) -> None:
        """The broker's `verify`: raises `InvalidArgument` with its message."""
        if self.choices is not None:
            if value not in self.choices:
                universe = ", ".join(sorted(self.choices))
                raise InvalidArgument(f"value is not in set: [{universe}]")
            return
        try:
            number = int(value)
        except ValueError:
            raise InvalidArgument(f'For input string: "{value}"') from None
        if not (self.minimum or 0) <= number <= (self.maximum or 0):
            raise InvalidArgument(f"value is not in range({self.minimum}, {self.maximum})")


#: TopicAttributes.ALL of 5.3.3.
TOPIC_ATTRIBUTES: dict[str, AttributeSpec] = {
    spec.name: spec
    for spec in (
        AttributeSpec("queue.type", False, frozenset({"BatchCQ", "SimpleCQ"})),
        AttributeSpec("cleanup.policy", False, frozenset({"DELETE", "COMPACTION"})),
        AttributeSpec(
            "message.type",
            True,
            frozenset({"UNSPECIFIED", "NORMAL", "FIFO", "DELAY", "TRANSACTION", "MIXED"}),
        ),
        AttributeSpec("reserve.time", True, minimum=-1, maximum=2**63 - 1),
    )
}
#: SubscriptionGroupAttributes.ALL of 5.3.3: empty, so any group attribute is refused.
GROUP_ATTRIBUTES: dict[str, AttributeSpec] = {}


@dataclass(frozen=True, slots=True)
class AttributeEdits:
    """An attribute edit such as `+message.type=FIFO,-reserve.time`: keys to set (in order)
    and keys to remove. `text` is what goes on the wire (mqadmin sends the text as given)."""

    set: dict[str, str] = field(default_factory=dict)
    delete: tuple[str, ...] = ()
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.set or self.delete)

    @property
    def signed(self) -> dict[str, str]:
        """The broker's parsed form: `+key` -> value, `-key` -> ""."""
        signed = {f"+{k}": v for k, v in self.set.items()}
        signed.update({f"-{k}": "" for k in self.delete})
        return signed


def parse_attributes(text: str | None) -> AttributeEdits:
    """Parse `+k=v,-k,...` the way the broker does (AttributeParser, then the key checks of
    AttributeUtil); raises `InvalidArgument` with the broker's message on a malformed text.
    Whether a key exists and a value is allowed is `check_attributes`'s job."""
    if not text:
        return AttributeEdits()
    sets: dict[str, str] = {}
    deletes: list[str] = []
    seen: set[str] = set()
    for item in _java_split(text, ","):
        if "=" in item:
            pieces = _java_split(item, "=")
            if len(pieces) < 2:
                raise InvalidArgument(f"add/alter attribute format is wrong: {item}")
            key, value = pieces[0], pieces[1]
            if "+" not in key:
                raise InvalidArgument(f"add/alter attribute format is wrong: {key}")
        else:
            key, value = item, ""
            if "-" not in key:
                raise InvalidArgument(f"delete attribute format is wrong: {key}")
        if key in seen:
            raise InvalidArgument(f"key duplication: {key}")
        seen.add(key)
        real = key[1:]
        if not real or "+" in real or "-" in real:
            raise InvalidArgument("kv string format wrong.")
        if real in sets or real in deletes:
            raise InvalidArgument(f"alter duplication key. key: {real}")
        if key.startswith("+"):
            sets[real] = value
        elif key.startswith("-"):
            deletes.append(real)
        else:
            raise InvalidArgument(f"wrong format key: {real}")
    return AttributeEdits(sets, tuple(deletes), text)


def _java_split(text: str, separator: str) -> list[str]:
    """String.split with a one-character literal: trailing empty pieces are dropped."""
    pieces = text.split(separator)
    while pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


def check_attributes(
    edits: AttributeEdits,
    current: Mapping[str, str] | None = None,
    *,
    create: bool,
    known: Mapping[str, AttributeSpec] = TOPIC_ATTRIBUTES,
) -> dict[str, str]:
    """Apply `edits` to `current` as AttributeUtil.alterCurrentAttributes does; returns the new
    attributes or raises `InvalidArgument` with the broker's message."""
    current = dict(current or {})
    if create and edits.delete:
        raise InvalidArgument(
            f"only add attribute is supported while creating topic. key: {edits.delete[0]}"
        )
    for key in edits.delete:
        if key not in current:
            raise InvalidArgument(f"attempt to delete a nonexistent key: {key}")
    for key, value in edits.set.items():
        spec = known.get(key)
        if spec is None:
            raise InvalidArgument(f"unsupported key: {key}")
        if not create and not spec.changeable:
            raise InvalidArgument(f"attempt to update an unchangeable attribute. key: {key}")
        spec.check(value)
    for key in edits.delete:
        spec = known.get(key)
        if spec is None:
            raise InvalidArgument(f"unsupported key: {key}")
        if not spec.changeable:
            raise InvalidArgument(f"attempt to update an unchangeable attribute. key: {key}")
    result = dict(current)
    result.update(edits.set)
    for key in edits.delete:
        result.pop(key, None)
    return result


def check_attribute_values(
    edits: AttributeEdits, known: Mapping[str, AttributeSpec] = TOPIC_ATTRIBUTES
) -> AttributeEdits:
    """The checks that need no knowledge of the topic's current attributes: every key is one
    the broker knows and every value one it accepts. Returns `edits`."""
    for key in (*edits.set, *edits.delete):
        if key not in known:
            raise InvalidArgument(f"unsupported key: {key}")
    for key, value in edits.set.items():
        known[key].check(value)
    return edits


def validate_topic_write(
    topic: str,
    read_queue_nums: int,
    write_queue_nums: int,
    perm: int,
    attributes: str | None = None,
) -> AttributeEdits:
    """Everything a client can check before UPDATE_AND_CREATE_TOPIC: the name (not a system
    topic), the queue counts, the perm and the attribute text. Returns the parsed edits."""
    validate_topic(topic)
    validate_queue_nums(read_queue_nums, write_queue_nums)
    validate_perm(perm)
    return check_attribute_values(parse_attributes(attributes))


# --- subscription groups -------------------------------------------------------------------


@dataclass(slots=True)
class GroupRetryPolicy(WireModel):
    """How a group's retries are spaced: `CUSTOMIZED` (the default) or `EXPONENTIAL`; the
    policies' own settings are kept as sent."""

    type: str = "CUSTOMIZED"
    exponential_retry_policy: dict[str, Any] | None = None
    customized_retry_policy: dict[str, Any] | None = None

    @classmethod
    def from_wire(cls, data: Any) -> GroupRetryPolicy:
        d = _obj(data, "GroupRetryPolicy")
        exponential = d.get("exponentialRetryPolicy")
        customized = d.get("customizedRetryPolicy")
        return cls(
            type=_str(d, "type", "GroupRetryPolicy") or "CUSTOMIZED",
            exponential_retry_policy=None
            if exponential is None
            else dict(_obj(exponential, "GroupRetryPolicy.exponentialRetryPolicy")),
            customized_retry_policy=None
            if customized is None
            else dict(_obj(customized, "GroupRetryPolicy.customizedRetryPolicy")),
        )

    def to_wire(self) -> dict[str, Any]:
        return _drop_none(
            {
                "customizedRetryPolicy": self.customized_retry_policy,
                "exponentialRetryPolicy": self.exponential_retry_policy,
                "type": self.type,
            }
        )


@dataclass(slots=True)
class SubscriptionGroupConfig(WireModel):
    """A consumer group's settings on a broker, with 5.3.3's defaults."""

    group_name: str
    consume_enable: bool = True
    consume_from_min_enable: bool = True
    consume_broadcast_enable: bool = True
    consume_message_orderly: bool = False
    retry_queue_nums: int = 1
    retry_max_times: int = 16
    group_retry_policy: GroupRetryPolicy = field(default_factory=GroupRetryPolicy)
    broker_id: int = 0
    which_broker_when_consume_slowly: int = 1
    notify_consumer_ids_changed_enable: bool = True
    group_sys_flag: int = 0
    consume_timeout_minute: int = 15
    #: Simple subscription data (topic and expression), kept as sent; None when absent.
    subscription_data_set: list[dict[str, Any]] | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> SubscriptionGroupConfig:
        where = "SubscriptionGroupConfig"
        d = _obj(data, where)
        policy = d.get("groupRetryPolicy")
        subscriptions = d.get("subscriptionDataSet")
        if subscriptions is not None and not isinstance(subscriptions, list):
            raise ProtocolError(f"{where}.subscriptionDataSet: expected a list")
        attributes = d.get("attributes")
        return cls(
            group_name=_str(d, "groupName", where) or "",
            consume_enable=bool(_bool(d, "consumeEnable", where, True)),
            consume_from_min_enable=bool(_bool(d, "consumeFromMinEnable", where, True)),
            consume_broadcast_enable=bool(_bool(d, "consumeBroadcastEnable", where, True)),
            consume_message_orderly=bool(_bool(d, "consumeMessageOrderly", where, False)),
            retry_queue_nums=_int(d, "retryQueueNums", where, 1),
            retry_max_times=_int(d, "retryMaxTimes", where, 16),
            group_retry_policy=GroupRetryPolicy()
            if policy is None
            else GroupRetryPolicy.from_wire(policy),
            broker_id=_int(d, "brokerId", where, 0),
            which_broker_when_consume_slowly=_int(d, "whichBrokerWhenConsumeSlowly", where, 1),
            notify_consumer_ids_changed_enable=bool(
                _bool(d, "notifyConsumerIdsChangedEnable", where, True)
            ),
            group_sys_flag=_int(d, "groupSysFlag", where, 0),
            consume_timeout_minute=_int(d, "consumeTimeoutMinute", where, 15),
            subscription_data_set=None
            if subscriptions is None
            else [dict(_obj(s, f"{where}.subscriptionDataSet")) for s in subscriptions],
            attributes={}
            if attributes is None
            else {str(k): str(v) for k, v in _obj(attributes, f"{where}.attributes").items()},
        )

    def to_wire(self) -> dict[str, Any]:
        # fastjson's order: keys sorted; a null set left out.
        return _drop_none(
            {
                "attributes": dict(self.attributes),
                "brokerId": self.broker_id,
                "consumeBroadcastEnable": self.consume_broadcast_enable,
                "consumeEnable": self.consume_enable,
                "consumeFromMinEnable": self.consume_from_min_enable,
                "consumeMessageOrderly": self.consume_message_orderly,
                "consumeTimeoutMinute": self.consume_timeout_minute,
                "groupName": self.group_name,
                "groupRetryPolicy": self.group_retry_policy.to_wire(),
                "groupSysFlag": self.group_sys_flag,
                "notifyConsumerIdsChangedEnable": self.notify_consumer_ids_changed_enable,
                "retryMaxTimes": self.retry_max_times,
                "retryQueueNums": self.retry_queue_nums,
                "subscriptionDataSet": self.subscription_data_set,
                "whichBrokerWhenConsumeSlowly": self.which_broker_when_consume_slowly,
            }
        )


@dataclass(slots=True)
class SubscriptionGroupWrapper(WireModel):
    """GET_ALL_SUBSCRIPTIONGROUP_CONFIG's answer: every group of the broker (its own order),
    the groups' forbidden topics and the table's DataVersion."""

    subscription_group_table: dict[str, SubscriptionGroupConfig] = field(default_factory=dict)
    forbidden_table: dict[str, dict[str, int]] = field(default_factory=dict)
    data_version: DataVersion = field(default_factory=DataVersion)

    @classmethod
    def from_wire(cls, data: Any) -> SubscriptionGroupWrapper:
        where = "SubscriptionGroupWrapper"
        d = _obj(data, where)
        groups = d.get("subscriptionGroupTable") or {}
        forbidden = d.get("forbiddenTable") or {}
        return cls(
            subscription_group_table={
                str(name): SubscriptionGroupConfig.from_wire(config)
                for name, config in _obj(groups, f"{where}.subscriptionGroupTable").items()
                if config is not None
            },
            forbidden_table={
                str(group): {
                    str(topic): int(bits)
                    for topic, bits in _obj(topics, f"{where}.forbiddenTable").items()
                }
                for group, topics in _obj(forbidden, f"{where}.forbiddenTable").items()
            },
            data_version=DataVersion.from_wire(d.get("dataVersion") or {}),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "dataVersion": self.data_version.to_wire(),
            "forbiddenTable": {k: dict(v) for k, v in self.forbidden_table.items()},
            "subscriptionGroupTable": {
                name: config.to_wire() for name, config in self.subscription_group_table.items()
            },
        }


#: The groups a 5.3.3 broker creates at start (SubscriptionGroupManager.init), in that order,
#: each with the class defaults (which turn broadcast and consume-from-min on).
SYSTEM_GROUPS: tuple[str, ...] = (
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
)


def system_groups() -> dict[str, SubscriptionGroupConfig]:
    """The predefined groups of a fresh 5.3.3 broker."""
    return {name: SubscriptionGroupConfig(name) for name in SYSTEM_GROUPS}
