"""`--each` on the reads that take it: ask every NameServer at once, show each one's answer
item by item, mark what differs, and exit 5 when they disagree (3 when one cannot be asked).
Without --each a read asks one NameServer, as before."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from nsctl.cli.failures import EXIT_DISAGREE, EXIT_ERROR, EXIT_UNREACHABLE, classify
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target

EachOption = Annotated[
    bool,
    typer.Option(
        "--each",
        help="Ask every NameServer and show each answer; exit 5 when they differ (NameServers "
        "do not replicate: a read of one hides what the others hold).",
    ),
]


def show_each(
    target: Target,
    title: str,
    ask: Callable[[Any], Any],
    items: Callable[[Any], dict[str, Any]],
    *,
    absent: tuple[type[BaseException], ...] = (),
    document: Callable[[Any], Any] = lambda answer: answer,
) -> None:
    """`ask(client)` on every NameServer; `items(answer)` flattens an answer; an error of an
    `absent` type means the NameServer holds nothing (e.g. no such topic), not a failure."""
    from nsctl.cli.views import each as view_of

    results = target.manager.broadcast(ask)
    answers: dict[str, dict[str, Any] | None] = {}
    documents: dict[str, Any] = {}
    failed: dict[str, BaseException] = {}
    for address, result in results.items():
        if isinstance(result, absent):
            answers[address], documents[address] = {}, None
        elif isinstance(result, BaseException):
            answers[address] = None
            failed[address] = result
        else:
            answers[address], documents[address] = items(result), document(result)
    view = view_of.each_view(target.addresses, answers)
    if len(failed) == len(results):  # nothing to compare: say only why, claim nothing
        _unreachable(failed)
    if target.output == Output.json:
        emit_json(
            {
                "namesrvs": [
                    {"namesrv": a, "ok": a not in failed, "answer": documents.get(a)}
                    | ({"error": classify(failed[a])[1]} if a in failed else {})
                    for a in target.addresses
                ],
                "differences": view_of.differences_json(view),
            }
        )
    elif target.output == Output.plain:
        emit_lines(view_of.plain_lines(view))
    else:
        columns, rows = view_of.table_rows(view)
        agree = "the NameServers that answered agree" if failed else "every NameServer agrees"
        verdict = f"{len(view.differing)} item(s) differ" if view.differing else agree
        emit_table(title, columns, rows, caption=verdict)
    if failed:
        _unreachable(failed)
    if view.differing:
        raise typer.Exit(EXIT_DISAGREE)


def _unreachable(failed: dict[str, BaseException]) -> None:
    reasons = "; ".join(f"{a}: {classify(e)[1]}" for a, e in failed.items())
    print(f"nsctl: {len(failed)} NameServer(s) could not be asked: {reasons}", file=sys.stderr)
    codes = {classify(e)[0] for e in failed.values()}
    raise typer.Exit(EXIT_UNREACHABLE if EXIT_UNREACHABLE in codes else EXIT_ERROR)
