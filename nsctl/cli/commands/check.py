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
        rows = [
            (
                n.address,
                "up" if n.reachable else "DOWN",
                f"{n.latency_ms:.1f} ms" if n.latency_ms is not None else "-",
                n.masters if n.reachable else "-",
                n.brokers if n.reachable else "-",
                n.topics if n.reachable else "-",
            )
            for n in report.namesrvs
        ]
        columns = ("NameServer", "Status", "Latency", "Masters", "Brokers", "Topics")
        if target.output == Output.plain:
            emit_lines("\t".join(str(cell) for cell in row) for row in rows)
        else:
            caption = (
                "disagree on: " + ", ".join(report.disagreements) if report.disagreements else None
            )
            emit_table("NameServer health", columns, rows, caption=caption)
        if report.brokers is not None:
            from nsctl.cli.broker_answers import emit_probes

            emit_probes(report.brokers, target.output)
        verdict = ["OK"] if report.healthy else [f"FAIL {failure}" for failure in report.failures]
        emit_lines(verdict)
    if not report.reachable:
        raise typer.Exit(EXIT_UNREACHABLE)
    if not report.healthy:
        raise typer.Exit(EXIT_EXPECTATION)
