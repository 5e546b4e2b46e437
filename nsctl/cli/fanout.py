"""Commands that must reach every NameServer (they do not replicate): report each answer."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import typer

from nsctl.cli.common import EXIT_ERROR, EXIT_UNREACHABLE, Output, Target, classify
from nsctl.cli.render import emit_json, emit_lines


def report_fanout(
    target: Target,
    results: Mapping[str, Any],
    *,
    ok_line: Callable[[str, Any], str] | None = None,
    json_fields: Callable[[str, Any], dict[str, Any]] = lambda address, value: {},
    summary: Mapping[str, Any] | None = None,
    render: Callable[[dict[str, Any]], None] | None = None,
    json_document: Callable[[dict[str, Any]], Any] | None = None,
) -> None:
    """Print one line (or JSON entry) per NameServer; exit non-zero if any of them failed.

    `ok_line` gives the line for one successful answer; `render` replaces the lines with any
    output built from all successful answers, `json_document` likewise for `-o json`.
    The exit code is 1 when some NameServer answered with an error and 3 when the only
    failures were NameServers that could not be reached.
    """
    failures: dict[str, BaseException] = {
        address: value for address, value in results.items() if isinstance(value, BaseException)
    }
    successes = {a: v for a, v in results.items() if a not in failures}
    if target.output == Output.json and json_document is not None:
        emit_json(json_document(successes))
    elif target.output == Output.json:
        entries = []
        for address, value in results.items():
            if address in failures:
                code, message = classify(value)
                entries.append(
                    {"namesrv": address, "ok": False, "error": message, "exitCode": code}
                )
            else:
                entries.append({"namesrv": address, "ok": True, **json_fields(address, value)})
        emit_json({**(summary or {}), "results": entries})
    elif render is not None:
        render(successes)
    elif ok_line is not None:
        emit_lines(ok_line(a, v) for a, v in successes.items())
    for address, error in failures.items():
        print(f"nsctl: {address}: {classify(error)[1]}", file=sys.stderr)
    if failures:
        codes = {classify(error)[0] for error in failures.values()}
        raise typer.Exit(EXIT_UNREACHABLE if codes == {EXIT_UNREACHABLE} else EXIT_ERROR)
