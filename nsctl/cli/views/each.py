"""`--each`: one read asked of every NameServer, each answer flattened to items (a broker's
queues, a topic, a key) so that what differs between NameServers shows item by item. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: NameServer -> its items (item -> comparable value), None when it could not be asked.
Answers = dict[str, dict[str, Any] | None]


@dataclass(frozen=True)
class EachView:
    namesrvs: list[str]
    answers: Answers
    #: item -> NameServer -> value (None: the NameServer does not hold the item).
    items: dict[str, dict[str, Any]]
    #: The items whose value is not the same on every NameServer that answered.
    differing: list[str]


def each_view(namesrvs: list[str], answers: Answers) -> EachView:
    answered = [a for a in namesrvs if answers.get(a) is not None]
    names = sorted({item for a in answered for item in answers[a] or {}})
    items = {item: {a: (answers[a] or {}).get(item) for a in answered} for item in names}
    differing = [
        item
        for item, values in items.items()
        if len({json.dumps(v, sort_keys=True) for v in values.values()}) > 1
    ]
    return EachView(namesrvs, answers, items, differing)


def _cell(value: Any) -> str:
    if value is None:
        return "(missing)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def table_rows(view: EachView) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """One row per item: a mark where NameServers differ, the item, each NameServer's value."""
    answered = [a for a in view.namesrvs if view.answers.get(a) is not None]
    rows = [
        ("≠" if item in view.differing else "", item, *(_cell(values.get(a)) for a in answered))
        for item, values in view.items.items()
    ]
    return ("", "Item", *answered), rows


def plain_lines(view: EachView) -> list[str]:
    """`NAMESRV<TAB>ITEM<TAB>VALUE` per NameServer and item, `DIFFERS<TAB>ITEM` per difference."""
    lines = [
        f"{a}\t{item}\t{_cell(value)}"
        for item, values in view.items.items()
        for a, value in values.items()
    ]
    return lines + [f"DIFFERS\t{item}" for item in view.differing]


def differences_json(view: EachView) -> list[dict[str, Any]]:
    return [{"item": item, "values": view.items[item]} for item in view.differing]
