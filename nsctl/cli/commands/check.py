"""`nsctl check`: cluster health for CI, asked of every NameServer in parallel."""

from __future__ import annotations

from typing import Annotated

import typer

from nsctl.cli.failures import EXIT_EXPECTATION, EXIT_UNREACHABLE
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target


@nameserver_command(
    "check",
    help="Ask every NameServer at once and report reachability, latency, brokers, topics and "
    "where they disagree. Exit 4 when an expectation is not met (an unreachable NameServer is "
    "one), 3 when none answers.",
)
def check(
    target: Target,
    expect_brokers: Annotated[
        int | None,
        typer.Option("--expect-brokers", min=0, help="At least N live masters on each."),
    ] = None,
    expect_cluster: Annotated[
        list[str] | None,
        typer.Option("--expect-cluster", help="This cluster must be registered (repeatable)."),
    ] = None,
    topics: Annotated[
        list[str] | None,
        typer.Option("-t", "--topic", help="Must have a writable queue on a master (repeatable)."),
    ] = None,
    consistent: Annotated[
        bool, typer.Option("--consistent", help="All NameServers agree on brokers and topics.")
    ] = False,
    probe_brokers: Annotated[
        bool,
        typer.Option(
            "--probe-brokers",
            help="Every broker address a NameServer lists must answer a broker query within "
            "--timeout (a listed broker can be dead for up to 120 s); with --expect-brokers, "
            "only masters that answer count.",
        ),
    ] = False,
) -> None:
    import asyncio

    from nsctl.client.health import check_health

    report = asyncio.run(
        check_health(
            target.addresses,
            topics=topics or [],
            timeout=target.timeout,
            expect_brokers=expect_brokers,
            expect_clusters=expect_cluster or [],
            consistent=consistent,
            probe_brokers=probe_brokers,
            ssl_context=target.ssl_context,
            retries=target.retries,
        )
    )
    if target.output == Output.json:
        emit_json(report.to_json())
    else:
        _show(report, target.output)
    if not report.reachable:
        raise typer.Exit(EXIT_UNREACHABLE)
    if not report.healthy:
        raise typer.Exit(EXIT_EXPECTATION)


def _show(report, output: Output) -> None:
    """The NameServers, the probed brokers (tables, or plain lines starting with `broker`),
    then the verdict."""
    from nsctl.cli.views import health as view_of

    rows = view_of.namesrv_rows(report)
    if output == Output.plain:
        emit_lines("\t".join(str(cell) for cell in row) for row in rows)
    else:
        disagree = report.disagreements
        caption = "disagree on: " + ", ".join(disagree) if disagree else None
        emit_table("NameServer health", view_of.NAMESRV_COLUMNS, rows, caption=caption)
    if report.brokers is not None:
        probes = view_of.probe_rows(report.brokers)
        if output == Output.plain:
            emit_lines("\t".join(("broker", *(str(cell) for cell in row))) for row in probes)
        else:
            emit_table("Brokers", view_of.PROBE_COLUMNS, probes)
    emit_lines(view_of.verdict_lines(report))
