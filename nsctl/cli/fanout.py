"""Commands that must reach every NameServer (they do not replicate): report each answer."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import typer

from nsctl.cli.failures import EXIT_ERROR, EXIT_UNREACHABLE, EXIT_USAGE, classify
from nsctl.cli.render import emit_json, emit_lines
from nsctl.cli.target import Output, Target


def report_fanout(
    target: Target,
    results: Mapping[str, Any],
    *,
    ok_line: Callable[[str, Any], str] | None = None,
    json_fields: Callable[[str, Any], dict[str, Any]] = lambda address, value: {},
    summary: Mapping[str, Any] | None = None,
    render: Callable[[dict[str, Any]], None] | None = None,
    json_document: Callable[[dict[str, Any]], Any] | None = None,
    warning: str | None = None,
) -> None:
    """Print one line (or JSON entry) per NameServer; exit non-zero if any of them failed.

    `ok_line` gives the line for one successful answer; `render` replaces the lines with any
    output built from all successful answers, `json_document` likewise for `-o json`.
    With `-o plain` (mqadmin's text, which scripts grep) the success lines are printed only
    when every NameServer succeeded. The exit code is 1 when some NameServer answered with an
    error and 3 when the only failures were NameServers that could not be reached; stderr then
    holds one line naming them. `warning` (an idempotent no-op, say) goes to stderr when
    nothing failed.
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
    elif ok_line is not None and not (target.output == Output.plain and failures):
        # mqadmin's success text would be read as success by scripts that grep it.
        emit_lines(ok_line(a, v) for a, v in successes.items())
    if failures:
        reasons = "; ".join(f"{a}: {classify(error)[1]}" for a, error in failures.items())
        if len(results) > 1:
            reasons = f"{len(failures)} of {len(results)} NameServers failed: {reasons}"
        print(f"nsctl: {reasons}", file=sys.stderr)
        codes = {classify(error)[0] for error in failures.values()}
        if codes == {EXIT_USAGE}:  # refused before anything was sent: the input is wrong
            raise typer.Exit(EXIT_USAGE)
        raise typer.Exit(EXIT_UNREACHABLE if codes == {EXIT_UNREACHABLE} else EXIT_ERROR)
    if warning:
        print(f"nsctl: warning: {warning}", file=sys.stderr)


def absent_on(
    results: Mapping[str, Any],
    what: str,
    state: str = "did not exist",
    consequence: str = "nothing to delete",
) -> str | None:
    """The warning for an idempotent delete: `results` map each address to whether the thing
    existed there (errors aside). None when it existed everywhere it was asked."""
    missing = [a for a, existed in results.items() if existed is False]
    if not missing:
        return None
    answered = [a for a, v in results.items() if not isinstance(v, BaseException)]
    if missing != answered:
        where = " on " + ", ".join(missing)
    else:
        where = " on any NameServer" if len(answered) > 1 else ""
    return f"{what} {state}{where}: {consequence}"
