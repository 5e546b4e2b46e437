"""Comparable snapshots of what a NameServer knows, and the changes between two of them.

Used by `nsctl watch` (changes over time on one NameServer) and `nsctl check` (differences
between NameServers). Snapshots are plain JSON-able dicts so they can be printed as they are.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nsctl.protocol.codes import MASTER_ID, PERM_WRITE
from nsctl.protocol.models import ClusterInfo, TopicRouteData

Snapshot = dict[str, Any]


@dataclass(frozen=True)
class Subject:
    """What is watched: a topic's route, cluster membership, or a KV namespace."""

    kind: str  # "topic" | "cluster" | "kv"
    name: str | None = None

    def __str__(self) -> str:
        return {
            "topic": f"topic {self.name}",
            "cluster": "clusters",
            "kv": f"namespace {self.name}",
        }[self.kind]


@dataclass
class Change:
    """One difference between two snapshots of a subject."""

    kind: str
    subject: Subject
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        key = {"topic": "topic", "cluster": "cluster", "kv": "namespace"}[self.subject.kind]
        data: dict[str, Any] = {"kind": self.kind}
        if self.subject.name is not None:
            data[key] = self.subject.name
        data.update(self.detail)
        return data

    def describe(self) -> str:
        bits = " ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.kind} ({self.subject}){' ' + bits if bits else ''}"


# --- building snapshots ----------------------------------------------------------------------


def topic_snapshot(route: TopicRouteData | None) -> Snapshot | None:
    """Per broker group: queue counts, perm, addresses. None when the topic has no route."""
    if route is None:
        return None
    brokers: dict[str, Any] = {}
    addresses = {b.broker_name: b for b in route.broker_datas}
    for queue in route.queue_datas:
        broker = addresses.get(queue.broker_name)
        brokers[queue.broker_name] = {
            "cluster": broker.cluster if broker else None,
            "read": queue.read_queue_nums,
            "write": queue.write_queue_nums,
            "perm": queue.perm,
            "addrs": {
                str(i): a for i, a in sorted((broker.broker_addrs if broker else {}).items())
            },
        }
    return {"brokers": brokers, "orderTopicConf": route.order_topic_conf}


def cluster_snapshot(info: ClusterInfo) -> Snapshot:
    """cluster -> broker name -> {broker id: address}."""
    clusters: dict[str, dict[str, dict[str, str]]] = {}
    for cluster, names in info.cluster_addr_table.items():
        members = clusters.setdefault(cluster, {})
        for name in names:
            broker = info.broker_addr_table.get(name)
            members[name] = {
                str(i): a for i, a in sorted((broker.broker_addrs if broker else {}).items())
            }
    return {"clusters": clusters}


def kv_snapshot(table: dict[str, str] | None) -> Snapshot | None:
    return None if table is None else {"table": dict(table)}


# --- questions asked of snapshots --------------------------------------------------------------


def writable_queues(snapshot: Snapshot | None) -> int:
    """Write queues a producer can use: writable groups that have a master address."""
    if not snapshot:
        return 0
    return sum(
        b["write"]
        for b in snapshot["brokers"].values()
        if b["perm"] & PERM_WRITE and str(MASTER_ID) in b["addrs"]
    )


def live_masters(snapshot: Snapshot) -> int:
    return sum(
        1
        for brokers in snapshot["clusters"].values()
        for addrs in brokers.values()
        if str(MASTER_ID) in addrs
    )


# --- diffs --------------------------------------------------------------------------------------


def diff(subject: Subject, old: Snapshot | None, new: Snapshot | None) -> list[Change]:
    """The changes that turn `old` into `new` (both snapshots of `subject`)."""
    if subject.kind == "topic":
        return _diff_topic(subject, old, new)
    if subject.kind == "cluster":
        return _diff_cluster(subject, old or {"clusters": {}}, new or {"clusters": {}})
    return _diff_kv(subject, old, new)


def _diff_topic(subject: Subject, old: Snapshot | None, new: Snapshot | None) -> list[Change]:
    if old is None and new is None:
        return []
    if old is None:
        return [Change("route_appeared", subject, {"brokers": sorted(new["brokers"])})]
    if new is None:
        return [Change("route_removed", subject, {"brokers": sorted(old["brokers"])})]
    changes: list[Change] = []
    for name in sorted(set(old["brokers"]) | set(new["brokers"])):
        before, after = old["brokers"].get(name), new["brokers"].get(name)
        if before is None:
            changes.append(Change("broker_added", subject, {"broker": name, **after}))
        elif after is None:
            changes.append(Change("broker_removed", subject, {"broker": name, **before}))
        else:
            changes += _diff_broker(subject, name, before, after)
    if old.get("orderTopicConf") != new.get("orderTopicConf"):
        changes.append(
            Change(
                "order_conf_changed",
                subject,
                {"old": old.get("orderTopicConf"), "new": new.get("orderTopicConf")},
            )
        )
    return changes


def _diff_broker(subject: Subject, name: str, before: dict, after: dict) -> list[Change]:
    changes = []
    if (before["read"], before["write"]) != (after["read"], after["write"]):
        changes.append(
            Change(
                "queues_changed",
                subject,
                {
                    "broker": name,
                    "old": {"read": before["read"], "write": before["write"]},
                    "new": {"read": after["read"], "write": after["write"]},
                },
            )
        )
    if before["perm"] != after["perm"]:
        changes.append(
            Change(
                "perm_changed",
                subject,
                {"broker": name, "old": before["perm"], "new": after["perm"]},
            )
        )
    changes += _diff_addresses(subject, name, before["addrs"], after["addrs"])
    return changes


def _diff_addresses(
    subject: Subject, name: str, before: dict[str, str], after: dict[str, str]
) -> list[Change]:
    changes = []
    for broker_id in sorted(set(before) | set(after), key=int):
        old, new = before.get(broker_id), after.get(broker_id)
        if old == new:
            continue
        role = "master" if broker_id == str(MASTER_ID) else "slave"
        changes.append(
            Change(
                f"{role}_address_changed",
                subject,
                {"broker": name, "brokerId": int(broker_id), "old": old, "new": new},
            )
        )
    return changes


def _diff_cluster(subject: Subject, old: Snapshot, new: Snapshot) -> list[Change]:
    changes: list[Change] = []
    for cluster in sorted(set(old["clusters"]) | set(new["clusters"])):
        before, after = old["clusters"].get(cluster, {}), new["clusters"].get(cluster, {})
        for name in sorted(set(before) | set(after)):
            if name not in before:
                changes.append(
                    Change(
                        "broker_added",
                        subject,
                        {"cluster": cluster, "broker": name, "addrs": after[name]},
                    )
                )
            elif name not in after:
                changes.append(
                    Change(
                        "broker_removed",
                        subject,
                        {"cluster": cluster, "broker": name, "addrs": before[name]},
                    )
                )
            else:
                changes += _diff_addresses(subject, name, before[name], after[name])
    return changes


def _diff_kv(subject: Subject, old: Snapshot | None, new: Snapshot | None) -> list[Change]:
    before = (old or {}).get("table", {})
    after = (new or {}).get("table", {})
    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            changes.append(Change("key_added", subject, {"key": key, "value": after[key]}))
        elif key not in after:
            changes.append(Change("key_removed", subject, {"key": key, "value": before[key]}))
        elif before[key] != after[key]:
            changes.append(
                Change(
                    "value_changed", subject, {"key": key, "old": before[key], "new": after[key]}
                )
            )
    return changes


def disagreement(snapshots: dict[str, Snapshot | None]) -> bool:
    """True when the NameServers that answered do not all hold the same snapshot."""
    values = list(snapshots.values())
    return any(value != values[0] for value in values[1:])
