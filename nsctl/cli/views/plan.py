"""The plan of `plan` and `apply --dry-run` as one row model: the JSON document (the contract
for CI review bots), the table rows (a change made alike on several brokers is one row), the
unified-diff-like text of -o plain, and the summary line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nsctl.declarative.diff import Broker, Change, Item, Plan

SIGNS = {"create": "+", "update": "~", "delete": "-"}


def broker_json(broker: Broker) -> dict[str, Any]:
    return {"cluster": broker.cluster, "brokerName": broker.name, "address": broker.address}


def describe(broker: Broker) -> str:
    return f"{broker.name} {broker.address}"


def change_json(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "name": change.name,
        "action": change.action,
        **broker_json(change.broker),
        "fields": {k: {"old": old, "new": new} for k, (old, new) in change.fields.items()},
        "notes": list(change.notes),
    }


def item_json(item: Item) -> dict[str, Any]:
    return {"kind": item.kind, "name": item.name, **broker_json(item.broker)}


def summary(plan: Plan) -> dict[str, int]:
    return {
        "create": plan.count("create"),
        "update": plan.count("update"),
        "delete": plan.count("delete"),
        "unchanged": len(plan.unchanged),
        "notInFile": len(plan.not_in_file),
        "disagreements": len(plan.disagreements),
    }


def document(plan: Plan, source: str, exit_code: int) -> dict[str, Any]:
    """The plan as `-o json` prints it."""
    return {
        "file": source,
        "clusters": list(dict.fromkeys(b.cluster for b in plan.brokers)),
        "brokers": [broker_json(b) for b in plan.brokers],
        "prune": plan.prune,
        "changes": [change_json(c) for c in plan.changes],
        "unchanged": [item_json(i) for i in plan.unchanged],
        "notInFile": [item_json(i) for i in plan.not_in_file],
        "disagreements": [
            {
                "kind": d.kind,
                "name": d.name,
                "cluster": d.cluster,
                "brokers": [
                    {"brokerName": b.name, "address": b.address, "config": _config_json(v)}
                    for b, v in d.values.items()
                ],
            }
            for d in plan.disagreements
        ],
        "summary": summary(plan),
        "exitCode": exit_code,
    }


def _config_json(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    config: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("attributes."):
            config.setdefault("attributes", {})[key.split(".", 1)[1]] = value
        else:
            config[key] = value
    return config


def value_text(value: Any) -> str:
    """A value as the file writes it: numbers and booleans bare, strings quoted."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(", ", ": "))


def fields_text(change: Change) -> str:
    if change.action == "delete":
        return "not in the file"
    if change.action == "create" and change.kind == "group":
        from nsctl.declarative.diff import group_fields
        from nsctl.declarative.spec import default_group

        defaults = group_fields(default_group(change.name))
        given = {k: new for k, (_, new) in change.fields.items() if defaults.get(k) != new}
        return ", ".join(f"{k} = {value_text(v)}" for k, v in given.items()) or "(defaults)"
    if change.action == "create":
        return ", ".join(f"{k} = {value_text(new)}" for k, (_, new) in change.fields.items())
    return ", ".join(
        f"{k} {value_text(old)} -> {value_text(new)}" for k, (old, new) in change.fields.items()
    )


COLUMNS = ("Action", "Kind", "Name", "Brokers", "Change")


def rows(plan: Plan, *, verbose: bool = False) -> list[tuple[str, str, str, str, str]]:
    """Table rows: changes first (one row for a change made alike on several brokers), then
    what is not in the file, then (verbose) what is unchanged."""
    grouped: dict[tuple[str, str, str, str], list[Broker]] = {}
    for change in plan.changes:
        text = fields_text(change)
        if change.notes:
            text += f" ({'; '.join(change.notes)})"
        grouped.setdefault((change.action, change.kind, change.name, text), []).append(
            change.broker
        )
    found = [
        (action, kind, name, ", ".join(describe(b) for b in brokers), text)
        for (action, kind, name, text), brokers in grouped.items()
    ]
    if not plan.prune:
        for (kind, name), brokers in _by_name(plan.not_in_file).items():
            found.append(("not in file", kind, name, brokers, "--prune deletes it"))
    if verbose:
        for (kind, name), brokers in _by_name(plan.unchanged).items():
            found.append(("unchanged", kind, name, brokers, ""))
    return found


def _by_name(items: list[Item]) -> dict[tuple[str, str], str]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for item in items:
        grouped.setdefault((item.kind, item.name), []).append(describe(item.broker))
    return {key: ", ".join(brokers) for key, brokers in grouped.items()}


DISAGREEMENT_COLUMNS = ("Cluster", "Kind", "Name", "Broker", "Holds")


def disagreement_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    found = []
    for d in plan.disagreements:
        for broker, values in d.values.items():
            held = (
                "(not held)"
                if values is None
                else ", ".join(f"{k} = {value_text(v)}" for k, v in _differing(d, values).items())
            )
            found.append((d.cluster, d.kind, d.name, describe(broker), held))
    return found


def _differing(d: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The fields that differ between the brokers (all of them if the broker is alone)."""
    others = [v for v in d.values.values() if v is not None and v is not values]
    if not others:
        return values
    keys = {
        k for other in others for k in set(other) | set(values) if other.get(k) != values.get(k)
    }
    return {k: values.get(k) for k in values if k in keys} or values


def summary_line(plan: Plan) -> str:
    s = summary(plan)
    head = (
        f"{s['create']} to create, {s['update']} to change, {s['delete']} to delete"
        if plan.pending
        else "no change"
    )
    parts = [head, f"{s['unchanged']} unchanged"]
    if s["notInFile"]:
        parts.append(
            f"{s['notInFile']} not in the file"
            + (" (deleted with --prune)" if plan.prune else " (--prune deletes them)")
        )
    if s["disagreements"]:
        parts.append(f"{s['disagreements']} where the masters of a cluster disagree")
    return "; ".join(parts)


def diff_lines(plan: Plan, source: str, *, verbose: bool = False) -> list[str]:
    """-o plain: a unified-diff-like text, `---` the brokers, `+++` the file, one hunk per
    change and broker; `no change` alone when nothing would change."""
    lines: list[str] = []
    if plan.pending:
        clusters = ", ".join(dict.fromkeys(b.cluster for b in plan.brokers))
        lines += [f"--- brokers of {clusters}", f"+++ {source}"]
    for change in plan.changes:
        where = f"{describe(change.broker)} (cluster {change.broker.cluster})"
        lines.append(f"@@ {change.action} {change.kind} {change.name} on {where} @@")
        if change.action == "delete":
            lines.append(f"-{change.kind} {change.name}")
        for key, (old, new) in change.fields.items():
            if old is not None:
                lines.append(f"-{key} = {value_text(old)}")
            if new is not None:
                lines.append(f"+{key} = {value_text(new)}")
        lines += [f"# {note}" for note in change.notes]
    if not plan.prune:
        for item in plan.not_in_file:
            lines.append(
                f"# not in the file (--prune deletes it): {item.kind} {item.name} on "
                f"{describe(item.broker)}"
            )
    if verbose:
        for item in plan.unchanged:
            lines.append(f"# unchanged: {item.kind} {item.name} on {describe(item.broker)}")
    for d in plan.disagreements:
        held = "; ".join(
            f"{describe(b)}: "
            + ("(not held)" if v is None else ", ".join(
                f"{k} = {value_text(x)}" for k, x in _differing(d, v).items()))
            for b, v in d.values.items()
        )  # fmt: skip
        lines.append(f"# masters of {d.cluster} disagree on {d.kind} {d.name}: {held}")
    if not plan.pending:
        lines.append("no change")
    return lines
