"""KV across NameServers: every NameServer's table of each namespace side by side, the keys
where they differ (missing on some, other values), and the plan that makes targets hold what
a source holds. Pure: tables in, rows and plans out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: namespace -> NameServer -> its table (None: the NameServer could not be asked).
Tables = dict[str, dict[str, dict[str, str] | None]]


@dataclass(frozen=True)
class Difference:
    namespace: str
    key: str
    #: NameServer -> its value, None where the key is missing.
    values: dict[str, str | None]


def differences(tables: Tables) -> list[Difference]:
    """Keys whose value is not the same on every NameServer that answered."""
    found = []
    for namespace in sorted(tables):
        answered = {a: t for a, t in tables[namespace].items() if t is not None}
        keys = sorted({k for table in answered.values() for k in table})
        for key in keys:
            values = {a: t.get(key) for a, t in answered.items()}
            if len(set(values.values())) > 1:
                found.append(Difference(namespace, key, values))
    return found


@dataclass(frozen=True)
class Change:
    namespace: str
    key: str
    namesrv: str
    action: str  # "put" or "delete"
    old: str | None
    new: str | None


@dataclass
class SyncPlan:
    source: str
    changes: list[Change] = field(default_factory=list)
    #: (namespace, target) pairs already equal to the source.
    unchanged: int = 0


def sync_plan(tables: Tables, source: str, targets: list[str], *, delete_extra: bool) -> SyncPlan:
    """What makes every target hold the source's keys and values (and, with `delete_extra`,
    no key the source lacks), namespace by namespace."""
    plan = SyncPlan(source)
    for namespace in sorted(tables):
        wanted = tables[namespace].get(source) or {}
        for target in targets:
            held = tables[namespace].get(target) or {}
            before = len(plan.changes)
            for key in sorted(wanted):
                if held.get(key) != wanted[key]:
                    plan.changes.append(
                        Change(namespace, key, target, "put", held.get(key), wanted[key])
                    )
            if delete_extra:
                for key in sorted(set(held) - set(wanted)):
                    plan.changes.append(Change(namespace, key, target, "delete", held[key], None))
            plan.unchanged += len(plan.changes) == before
    return plan


def difference_rows(found: list[Difference], namesrvs: list[str]) -> list[tuple[Any, ...]]:
    return [
        (d.namespace, d.key, *("(missing)" if d.values.get(a) is None else d.values[a]
                               for a in namesrvs))
        for d in found
    ]  # fmt: skip


def change_rows(changes: list[Change]) -> list[tuple[Any, ...]]:
    return [
        (c.namesrv, c.namespace, c.key, c.action,
         "(missing)" if c.old is None else c.old, "-" if c.new is None else c.new)
        for c in changes
    ]  # fmt: skip


def change_json(change: Change, **extra: Any) -> dict[str, Any]:
    return {
        "namesrv": change.namesrv,
        "namespace": change.namespace,
        "key": change.key,
        "action": change.action,
        "old": change.old,
        "new": change.new,
        **extra,
    }
