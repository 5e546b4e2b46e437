"""watch's live view: the rows of one subject's snapshot (a topic's brokers and queues, a
cluster's brokers, a KV namespace's keys), each with the key the view diffs rows by."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nsctl.client.snapshot import Subject


def _address(broker_id: str, address: str, down: set[str]) -> str:
    return f"{broker_id}={address}" + (" (DOWN: does not answer)" if address in down else "")


def watch_rows(subject: Subject, snapshot, down: set[str] = frozenset()) -> list[tuple[str, tuple]]:
    if snapshot is None:
        return [("", ("(none)",))] if subject.kind != "cluster" else []
    if subject.kind == "topic":
        return [
            (
                name,
                (
                    name,
                    b["read"],
                    b["write"],
                    b["perm"],
                    ", ".join(f"{i}={a}" for i, a in b["addrs"].items()),
                ),
            )
            for name, b in sorted(snapshot["brokers"].items())
        ]
    if subject.kind == "cluster":
        return [
            (name, (cluster, name, ", ".join(_address(i, a, down) for i, a in addrs.items())))
            for cluster, brokers in sorted(snapshot["clusters"].items())
            for name, addrs in sorted(brokers.items())
        ]
    return [(key, (key, value)) for key, value in sorted(snapshot["table"].items())]
