"""KV across NameServers, which never replicate it: `kv diff` compares every NameServer's keys,
`kv sync` copies one NameServer's keys to the others (a NameServer back on an empty disk),
`kv export` / `kv import` back a store up and restore it.

The protocol cannot list namespaces: these cover ORDER_TOPIC_CONFIG, those named with -s and
those the context in use lists (`namespaces = [...]`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nsctl.cli.failures import (
    EXIT_DISAGREE,
    EXIT_ERROR,
    EXIT_PENDING,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    classify,
    fail,
)
from nsctl.cli.options import nameserver_command, sub_group
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE

kv = sub_group(
    "kv",
    help="KV across NameServers: diff, sync (repair a NameServer that lost its store), export "
    "and import.",
)

NamespacesOption = Annotated[
    list[str] | None,
    typer.Option(
        "-s",
        "--namespace",
        help="A namespace to cover besides ORDER_TOPIC_CONFIG and the context's namespaces "
        "(repeatable: the protocol cannot list namespaces).",
        show_default=False,
    ),
]


def _namespaces(given: list[str] | None, target: Target) -> list[str]:
    """ORDER_TOPIC_CONFIG, the -s ones, then those of the context in use."""
    return list(dict.fromkeys([ORDER_TOPIC_CONFIG_NAMESPACE, *(given or []), *target.namespaces]))


def _tables(client, namespaces: list[str]) -> dict[str, dict[str, str]]:
    """One NameServer's table of each namespace (one it lacks is an empty table)."""
    from nsctl.client.errors import KVConfigNotFoundError

    tables = {}
    for namespace in namespaces:
        try:
            tables[namespace] = client.get_kv_list_by_namespace(namespace)
        except KVConfigNotFoundError:
            tables[namespace] = {}
    return tables


def _read_tables(target: Target, namespaces: list[str], addresses: list[str] | None = None):
    """namespace -> NameServer -> table, and the NameServers that could not be asked."""
    results = target.manager.broadcast(lambda client: _tables(client, namespaces))
    if addresses is not None:
        results = {a: r for a, r in results.items() if a in addresses}
    failed = {a: r for a, r in results.items() if isinstance(r, BaseException)}
    tables = {
        namespace: {a: (None if a in failed else r[namespace]) for a, r in results.items()}
        for namespace in namespaces
    }
    return tables, failed


def _report_unreachable(failed: dict[str, BaseException]) -> int:
    if not failed:
        return 0
    reasons = "; ".join(f"{a}: {classify(e)[1]}" for a, e in failed.items())
    print(f"nsctl: {len(failed)} NameServer(s) could not be asked: {reasons}", file=sys.stderr)
    codes = {classify(e)[0] for e in failed.values()}
    return EXIT_UNREACHABLE if EXIT_UNREACHABLE in codes else EXIT_ERROR


@nameserver_command(
    "diff",
    group=kv,
    help="Compare every NameServer's KV, namespace by namespace: keys missing on some and "
    "values that differ. Exit 0 when all agree, 5 when they differ, 3 when one cannot be asked.",
)
def kv_diff(target: Target, namespaces: NamespacesOption = None) -> None:
    from nsctl.cli.views import kv_compare as view_of

    covered = _namespaces(namespaces, target)
    tables, failed = _read_tables(target, covered)
    found = view_of.differences(tables)
    addresses = target.addresses
    answered = [a for a in addresses if a not in failed]
    if not answered:  # nothing to compare: say only why (stderr), claim nothing
        raise typer.Exit(_report_unreachable(failed))
    if target.output == Output.json:
        emit_json(
            {
                "namespaces": covered,
                "namesrvs": addresses,
                "unreachable": {a: classify(e)[1] for a, e in failed.items()},
                "differences": [
                    {"namespace": d.namespace, "key": d.key, "values": d.values} for d in found
                ],
            }
        )
    elif target.output == Output.plain and found:
        emit_lines(
            f"{d.namespace}\t{d.key}\t{a}\t{'(missing)' if v is None else v}"
            for d in found
            for a, v in d.values.items()
        )
    elif found:
        emit_table(
            "KV that differs between NameServers",
            ("Namespace", "Key", *addresses),
            view_of.difference_rows(found, addresses),
        )
    else:
        among = f"{len(answered)} NameServer(s)" + (" that answered" if failed else "")
        emit_lines([f"no difference in {', '.join(covered)} across {among}"])
    code = _report_unreachable(failed)
    if code:
        raise typer.Exit(code)
    if found:
        raise typer.Exit(EXIT_DISAGREE)


@nameserver_command(
    "sync",
    group=kv,
    help="Copy one NameServer's keys (--from) to the others (all of -n, or --to): the missing "
    "and differing ones, and with --delete-extra remove keys the source lacks. Prints the plan, "
    "asks on a terminal unless --yes, then one result per key and NameServer. Running it again "
    "changes nothing.",
)
def kv_sync(
    target: Target,
    source: Annotated[
        str, typer.Option("--from", help="The NameServer whose KV is right.", show_default=False)
    ],
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="A NameServer to repair (repeatable; default: every other).",
            show_default=False,
        ),
    ] = None,
    namespaces: NamespacesOption = None,
    delete_extra: Annotated[
        bool, typer.Option("--delete-extra", help="Also delete keys the source does not have.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; exit 6 when it has changes.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    from nsctl.cli.views import kv_compare as view_of
    from nsctl.client.discovery import parse_addresses

    (source,) = parse_addresses(source)
    addresses = list(dict.fromkeys([*target.addresses, source]))
    chosen = (
        parse_addresses(";".join(targets)) if targets else [a for a in addresses if a != source]
    )
    chosen = [a for a in chosen if a != source]
    if not chosen:
        fail("nothing to repair: give --to, or more than one NameServer with -n", EXIT_USAGE)
    target.addresses[:] = list(dict.fromkeys([source, *chosen, *target.addresses]))
    covered = _namespaces(namespaces, target)
    tables, failed = _read_tables(target, covered, [source, *chosen])
    if source in failed:
        fail(f"cannot read the source {source}: {classify(failed[source])[1]}", EXIT_UNREACHABLE)
    reachable = [a for a in chosen if a not in failed]
    plan = view_of.sync_plan(tables, source, reachable, delete_extra=delete_extra)
    if dry_run or not plan.changes:
        _show_plan(target, plan, results=None)
        code = _report_unreachable(failed)
        if code:
            raise typer.Exit(code)
        if dry_run and plan.changes:
            raise typer.Exit(EXIT_PENDING)
        return
    if not yes:
        _confirm(plan, delete_extra)
    results = _apply(target, plan)
    _show_plan(target, plan, results=results)
    errors = [e for e in results.values() if e is not None]
    code = max(_report_unreachable(failed), _report_failed(plan, results))
    if code or errors:
        raise typer.Exit(code or EXIT_ERROR)


def _confirm(plan, delete_extra: bool) -> None:
    if not sys.stdin.isatty():
        if delete_extra:
            fail("--delete-extra deletes keys: give --yes to do so without a terminal", EXIT_USAGE)
        return
    from nsctl.cli.views import kv_compare as view_of

    emit_table(f"Plan: copy from {plan.source}", ("NameServer", "Namespace", "Key", "Action",
               "Now", "Then"), view_of.change_rows(plan.changes))  # fmt: skip
    if not typer.confirm(f"Make these {len(plan.changes)} change(s)?", default=False, err=True):
        fail("nothing changed", EXIT_ERROR)


def _apply(target: Target, plan) -> dict[int, BaseException | None]:
    """Each change on its NameServer, the NameServers in parallel; index -> error or None."""
    by_namesrv: dict[str, list[int]] = {}
    for index, change in enumerate(plan.changes):
        by_namesrv.setdefault(change.namesrv, []).append(index)
    results: dict[int, BaseException | None] = {}

    def run(client) -> None:
        from nsctl.client.errors import NameServerError

        for index in by_namesrv.get(client.address, []):
            change = plan.changes[index]
            try:
                if change.action == "put":
                    client.put_kv_config(change.namespace, change.key, change.new)
                else:
                    client.delete_kv_config(change.namespace, change.key)
                results[index] = None
            except NameServerError as error:
                results[index] = error

    outcomes = target.manager.broadcast(run)
    for address, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            for index in by_namesrv.get(address, []):
                results.setdefault(index, outcome)
    return results


def _report_failed(plan, results: dict[int, BaseException | None]) -> int:
    failed = [(plan.changes[i], e) for i, e in results.items() if e is not None]
    if not failed:
        return 0
    details = "; ".join(f"{c.namesrv} {c.namespace}/{c.key}: {classify(e)[1]}" for c, e in failed)
    print(f"nsctl: {len(failed)} of {len(plan.changes)} change(s) failed: {details}",
          file=sys.stderr)  # fmt: skip
    codes = {classify(e)[0] for _, e in failed}
    return EXIT_UNREACHABLE if EXIT_UNREACHABLE in codes else EXIT_ERROR


def _show_plan(target: Target, plan, *, results: dict[int, BaseException | None] | None) -> None:
    from nsctl.cli.views import kv_compare as view_of

    def outcome(index: int) -> str:
        if results is None:
            return "planned"
        error = results.get(index)
        return "done" if error is None else f"FAILED: {classify(error)[1]}"

    if target.output == Output.json:
        emit_json(
            {
                "from": plan.source,
                "dryRun": results is None and bool(plan.changes),
                "changes": [
                    view_of.change_json(c, ok=None if results is None else results.get(i) is None)
                    for i, c in enumerate(plan.changes)
                ],
            }
        )
    elif not plan.changes:
        emit_lines([f"no change: every NameServer holds what {plan.source} holds"])
    elif target.output == Output.plain:
        emit_lines(
            f"{c.namesrv}\t{c.namespace}\t{c.key}\t{c.action}\t{outcome(i)}"
            for i, c in enumerate(plan.changes)
        )
    else:
        rows = [(*row, outcome(i)) for i, row in enumerate(view_of.change_rows(plan.changes))]
        columns = ("NameServer", "Namespace", "Key", "Action", "Now", "Then", "Result")
        emit_table(f"Copy from {plan.source}", columns, rows)


@nameserver_command(
    "export",
    group=kv,
    help="Write one NameServer's KV (the first that answers) as JSON, for kv import.",
)
def kv_export(target: Target, namespaces: NamespacesOption = None) -> None:

    covered = _namespaces(namespaces, target)

    def read(client) -> tuple[str, dict[str, dict[str, str]]]:
        tables = _tables(client, covered)
        return client.address, {ns: dict(sorted(t.items())) for ns, t in tables.items()}

    address, tables = target.manager.invoke(read)
    emit_json({"namesrv": address, "namespaces": tables})


@nameserver_command(
    "import",
    group=kv,
    help="Put every key of a kv export file (-f FILE, or - for stdin) on every NameServer; "
    "keys already holding that value are left alone.",
)
def kv_import(
    target: Target,
    file: Annotated[str, typer.Option("-f", "--file", help="A kv export file, or -.")],
) -> None:

    document = _load_export(file)

    def put(client) -> dict[str, int]:
        counts = {"put": 0, "unchanged": 0}
        holdings = _tables(client, list(document))
        for namespace, table in document.items():
            held = holdings[namespace]
            for key, value in table.items():
                if held.get(key) == value:
                    counts["unchanged"] += 1
                    continue
                client.put_kv_config(namespace, key, value)
                counts["put"] += 1
        return counts

    from nsctl.cli.fanout import report_fanout

    results = target.manager.broadcast(put)
    report_fanout(
        target,
        results,
        ok_line=lambda address, counts: (
            f"{address}: {counts['put']} key(s) written, {counts['unchanged']} already so"
            if counts["put"]
            else f"{address}: no change ({counts['unchanged']} key(s) already so)"
        ),
        json_fields=lambda address, counts: counts,
        summary={"file": file},
    )


def _load_export(file: str) -> dict[str, dict[str, str]]:
    """The namespaces of a kv export document; a clear usage error for anything else."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        data: Any = json.loads(text)
    except OSError as error:
        fail(f"{file}: {error.strerror or error}", EXIT_USAGE)
    except (ValueError, UnicodeDecodeError) as error:
        fail(f"{file}: not a kv export (JSON): {error}", EXIT_USAGE)
    tables = data.get("namespaces") if isinstance(data, dict) else None
    if not isinstance(tables, dict) or not all(
        isinstance(t, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in t.items())
        for t in tables.values()
    ):
        fail(f"{file}: not a kv export: expected {{\"namespaces\": {{NS: {{KEY: VALUE}}}}}}",
             EXIT_USAGE)  # fmt: skip
    return tables
