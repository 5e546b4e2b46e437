"""The plan: what it takes to bring the masters from what they hold to what the file says.

`plan(desired, brokers, holdings, prune=...)` compares, broker by broker, the managed topics
and groups (system ones never count: `managed_topic`, `managed_group`) and returns a `Plan`:
the changes (create, update field by field, delete with prune), what is already as wanted,
what the brokers hold that the file does not name, and where the masters of one cluster
disagree. `export` turns holdings into a desired state that plans clean against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from nsctl.declarative.spec import (
    GROUP_KEYS,
    TOPIC_KEYS,
    DesiredState,
    default_group,
    default_topic,
)
from nsctl.protocol.broker_admin import (
    SYSTEM_GROUPS,
    SubscriptionGroupConfig,
    is_system_topic,
)
from nsctl.protocol.codes import DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX
from nsctl.protocol.register import TopicConfig

#: Attributes a broker refuses to change on an existing topic.
UNCHANGEABLE_TOPIC_ATTRIBUTES = ("queue.type", "cleanup.policy")


@dataclass(frozen=True, slots=True)
class Broker:
    """A master in scope: its cluster, broker name and address."""

    cluster: str
    name: str
    address: str


@dataclass
class Holding:
    """What one broker holds (its whole tables, as GET_ALL_* answered)."""

    topics: dict[str, TopicConfig] = field(default_factory=dict)
    groups: dict[str, SubscriptionGroupConfig] = field(default_factory=dict)


@dataclass
class Change:
    """One change on one broker. `fields` maps a file key to (old, new); attributes appear
    as `attributes.KEY`. `config` is what gets written (create/update)."""

    kind: str  # "topic" | "group"
    name: str
    action: str  # "create" | "update" | "delete"
    broker: Broker
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    config: Any = None
    #: For a topic update: the attribute edit text (`+k=v,-k`), "" when none.
    attribute_edits: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Item:
    """A topic or group on one broker that needs nothing (unchanged) or is not in the file."""

    kind: str
    name: str
    broker: Broker


@dataclass
class Disagreement:
    """A topic or group whose config differs between the masters of one cluster (None: the
    broker does not hold it)."""

    kind: str
    name: str
    cluster: str
    values: dict[Broker, dict[str, Any] | None]


@dataclass
class Plan:
    brokers: list[Broker]
    changes: list[Change] = field(default_factory=list)
    unchanged: list[Item] = field(default_factory=list)
    not_in_file: list[Item] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    prune: bool = False

    @property
    def pending(self) -> bool:
        return bool(self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


def managed_topic(name: str, broker: Broker) -> bool:
    """Whether a topic is the user's: not a system topic of this broker (TBW102, rmq_sys_*,
    SCHEDULE_TOPIC_XXXX, its cluster and broker-name topics, ...) nor a group's %RETRY% or
    %DLQ% topic (those come and go with the group)."""
    from nsctl.client.broker import system_topics

    if name.startswith((RETRY_GROUP_TOPIC_PREFIX, DLQ_GROUP_TOPIC_PREFIX)):
        return False
    own = set(system_topics(broker.cluster, broker.name))
    return not is_system_topic(name, own)


def managed_group(name: str) -> bool:
    """Whether a group is the user's: not one every broker predefines (TOOLS_CONSUMER, ...)."""
    return name not in SYSTEM_GROUPS


def topic_fields(config: TopicConfig) -> dict[str, Any]:
    """The file's view of a topic: its keys, attributes as `attributes.KEY`."""
    values: dict[str, Any] = {key: getattr(config, attr) for key, attr in TOPIC_KEYS.items()}
    for key, value in sorted((config.attributes or {}).items()):
        values[f"attributes.{key}"] = value
    return values


def group_fields(config: SubscriptionGroupConfig) -> dict[str, Any]:
    values: dict[str, Any] = {key: getattr(config, attr) for key, attr in GROUP_KEYS.items()}
    values["groupRetryPolicy"] = config.group_retry_policy.to_wire()
    for key, value in sorted((config.attributes or {}).items()):
        values[f"attributes.{key}"] = value
    return values


def _differences(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = list(new) + [k for k in old if k not in new]
    return {k: (old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)}


def plan(
    desired: DesiredState,
    brokers: list[Broker],
    holdings: dict[str, Holding],
    *,
    prune: bool = False,
) -> Plan:
    """The plan for `brokers` (every master of the clusters in scope; `holdings` by address)."""
    result = Plan(list(brokers), prune=prune)
    for broker in brokers:
        held = holdings[broker.address]
        want_topics, want_groups = desired.for_broker(broker.cluster, broker.address)
        current_topics = {n: c for n, c in held.topics.items() if managed_topic(n, broker)}
        current_groups = {n: c for n, c in held.groups.items() if managed_group(n)}
        for name, wanted in want_topics.items():
            _topic_change(result, broker, name, current_topics.get(name), wanted)
        for name, wanted_group in want_groups.items():
            _group_change(result, broker, name, current_groups.get(name), wanted_group)
        for kind, current, wanted_names in (
            ("topic", current_topics, want_topics),
            ("group", current_groups, want_groups),
        ):
            for name in current:
                if name in wanted_names:
                    continue
                result.not_in_file.append(Item(kind, name, broker))
                if prune:
                    result.changes.append(Change(kind, name, "delete", broker))
    result.disagreements = disagreements(brokers, holdings)
    return result


def _topic_change(
    result: Plan, broker: Broker, name: str, current: TopicConfig | None, wanted: TopicConfig
) -> None:
    new = topic_fields(wanted)
    if current is None:
        config = replace(wanted, attributes=dict(wanted.attributes or {}))
        edits = ",".join(f"+{k}={v}" for k, v in sorted((wanted.attributes or {}).items()))
        fields = {k: (None, v) for k, v in new.items()}
        result.changes.append(
            Change("topic", name, "create", broker, fields, config, attribute_edits=edits)
        )
        return
    fields = _differences(topic_fields(current), new)
    if not fields:
        result.unchanged.append(Item("topic", name, broker))
        return
    old_attributes = current.attributes or {}
    new_attributes = wanted.attributes or {}
    edits = [f"+{k}={v}" for k, v in sorted(new_attributes.items()) if old_attributes.get(k) != v]
    edits += [f"-{k}" for k in sorted(old_attributes) if k not in new_attributes]
    # Keep what the file does not manage (the unit flags, the filter type).
    config = replace(
        wanted,
        topic_sys_flag=current.topic_sys_flag,
        topic_filter_type=current.topic_filter_type,
        attributes=dict(new_attributes),
    )
    change = Change("topic", name, "update", broker, fields, config, ",".join(edits))
    for key in UNCHANGEABLE_TOPIC_ATTRIBUTES:
        if f"attributes.{key}" in fields:
            change.notes.append(
                f"the broker refuses to change {key} of an existing topic (delete and "
                "create it again)"
            )
    result.changes.append(change)


def _group_change(
    result: Plan,
    broker: Broker,
    name: str,
    current: SubscriptionGroupConfig | None,
    wanted: SubscriptionGroupConfig,
) -> None:
    new = group_fields(wanted)
    if current is None:
        fields = {k: (None, v) for k, v in new.items()}
        result.changes.append(Change("group", name, "create", broker, fields, wanted))
        return
    fields = _differences(group_fields(current), new)
    if not fields:
        result.unchanged.append(Item("group", name, broker))
        return
    # Keep what the file does not manage (consume timeout, sys flag, subscriptions).
    config = replace(
        wanted,
        group_sys_flag=current.group_sys_flag,
        consume_timeout_minute=current.consume_timeout_minute,
        subscription_data_set=current.subscription_data_set,
    )
    result.changes.append(Change("group", name, "update", broker, fields, config))


def _managed_values(broker: Broker, held: Holding) -> dict[tuple[str, str], dict[str, Any]]:
    values = {
        ("topic", n): topic_fields(c) for n, c in held.topics.items() if managed_topic(n, broker)
    }
    values.update(
        {("group", n): group_fields(c) for n, c in held.groups.items() if managed_group(n)}
    )
    return values


def disagreements(brokers: list[Broker], holdings: dict[str, Holding]) -> list[Disagreement]:
    """Topics and groups that the masters of a cluster do not all hold alike."""
    found = []
    for cluster in dict.fromkeys(b.cluster for b in brokers):
        members = [b for b in brokers if b.cluster == cluster]
        values = {b: _managed_values(b, holdings[b.address]) for b in members}
        names = sorted({key for v in values.values() for key in v})
        for kind, name in names:
            seen = {b: values[b].get((kind, name)) for b in members}
            distinct = {repr(v) for v in seen.values()}
            if len(distinct) > 1:
                found.append(Disagreement(kind, name, cluster, seen))
    return found


# --- export ---------------------------------------------------------------------------------


def export(brokers: list[Broker], holdings: dict[str, Holding]) -> dict[str, Any]:
    """The file (as data: TOML- and JSON-ready) for what `brokers` hold: a topic or group held
    alike by every master of its cluster goes under the cluster, any other under each broker
    address that holds it. System topics and groups are left out. Plans clean against the same
    holdings."""
    clusters: dict[str, Any] = {}
    per_broker: dict[str, Any] = {}
    for cluster in dict.fromkeys(b.cluster for b in brokers):
        members = [b for b in brokers if b.cluster == cluster]
        section: dict[str, Any] = {}
        clusters[cluster] = section
        values = {b: _managed_values(b, holdings[b.address]) for b in members}
        for kind, name in sorted({key for v in values.values() for key in v}):
            seen = {b: values[b].get((kind, name)) for b in members}
            first = next(iter(seen.values()))
            if first is not None and all(v == first for v in seen.values()):
                _put(section, kind, name, _entry(kind, holdings, members[0], name))
                continue
            for b, value in seen.items():
                if value is not None:
                    broker_section = per_broker.setdefault(b.address, {})
                    _put(broker_section, kind, name, _entry(kind, holdings, b, name))
    document: dict[str, Any] = {"clusters": clusters}
    if per_broker:
        document["brokers"] = {a: per_broker[a] for a in sorted(per_broker)}
    return document


def _put(section: dict[str, Any], kind: str, name: str, entry: dict[str, Any]) -> None:
    section.setdefault(f"{kind}s", {})[name] = entry
    # topics before groups, names sorted: the same file for the same holdings
    for key in ("topics", "groups"):
        if key in section:
            section[key] = dict(sorted(section.pop(key).items()))


def _entry(kind: str, holdings: dict[str, Holding], broker: Broker, name: str) -> dict[str, Any]:
    held = holdings[broker.address]
    if kind == "topic":
        config = held.topics[name]
        entry: dict[str, Any] = {
            "readQueueNums": config.read_queue_nums,
            "writeQueueNums": config.write_queue_nums,
            "perm": config.perm,
        }
        if config.order:
            entry["order"] = True
        if config.attributes:
            entry["attributes"] = dict(sorted(config.attributes.items()))
        return entry
    group = held.groups[name]
    defaults = group_fields(default_group(name))
    entry = {}
    for key, value in group_fields(group).items():
        if key.startswith("attributes."):
            entry.setdefault("attributes", {})[key.split(".", 1)[1]] = value
        elif value != defaults[key]:
            entry[key] = value
    return entry


__all__ = [
    "Broker",
    "Change",
    "Disagreement",
    "Holding",
    "Item",
    "Plan",
    "default_group",
    "default_topic",
    "disagreements",
    "export",
    "managed_group",
    "managed_topic",
    "plan",
]
