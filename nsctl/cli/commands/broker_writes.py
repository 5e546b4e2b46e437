"""What the topic and group writes share: finding the masters of a cluster, running one change
on every broker at once, writing to every NameServer, `--wait`, and the report (one result per
broker and per NameServer; table, json, or mqadmin's text when everything succeeded) with the
exit code the results add up to (3 unreachable, then 1 refused, then 4 not shown in time)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nsctl.cli.app import OPTIONAL_VALUES
from nsctl.cli.failures import (
    EXIT_ERROR,
    EXIT_EXPECTATION,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    classify,
    fail,
)
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target

if TYPE_CHECKING:
    from nsctl.client.broker_client import AsyncBrokerClient
    from nsctl.client.convergence import WaitResult
    from nsctl.protocol.models import ClusterInfo

DEFAULT_WAIT = 30.0
OPTIONAL_VALUES["wait"] = DEFAULT_WAIT

ClusterOption = Annotated[
    str | None,
    typer.Option("-c", "--clusterName", help="Every master of this cluster.", show_default=False),
]
BrokerAddrOption = Annotated[
    str | None,
    typer.Option("-b", "--brokerAddr", help="Only this broker (host:port).", show_default=False),
]
WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0.0,
        help=f"Return once every NameServer shows the change (at most SECONDS; --wait alone: "
        f"{DEFAULT_WAIT:g}); exit 4 naming those that do not show it yet.",
        metavar="[SECONDS]",
        show_default=False,
    ),
]


@dataclass
class Outcome:
    """One target's result: a broker (`name` its broker name) or a NameServer."""

    kind: str  # "broker" or "namesrv"
    address: str
    action: str
    name: str | None = None
    changed: bool | None = None
    error: BaseException | None = None
    #: mqadmin's text for this success (printed with -o plain when everything succeeded).
    lines: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> int:
        return EXIT_OK if self.error is None else classify(self.error)[0]

    def describe(self) -> str:
        if self.kind != "broker":
            return self.address
        from nsctl.cli.views.broker_answers import name_broker

        # Writes go to masters (-c) or to an address whose id the NameServers may not list.
        return name_broker(self.name, self.address, 0 if self.name else None)

    def result_text(self) -> str:
        if self.error is not None:
            return f"FAILED: {classify(self.error)[1]}"
        return "done" if self.changed is not False else "no change"


@dataclass
class WriteReport:
    subject: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)
    #: --wait: (what was asked: "namesrv" or "broker", what it showed), in the order asked.
    waits: list[tuple[str, WaitResult]] = field(default_factory=list)
    #: mqadmin's closing text (the config line), printed after the per-target lines.
    closing: list[str] = field(default_factory=list)
    #: The JSON key of the broker entries: "brokers" (one write), "changes" (apply: an entry
    #: per change and broker, its `extra` saying which change).
    broker_key: str = "brokers"

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def waited(self) -> bool:
        return all(result.ok for _, result in self.waits)

    @property
    def exit_code(self) -> int:
        codes = {o.code for o in self.outcomes}
        if EXIT_UNREACHABLE in codes:
            return EXIT_UNREACHABLE
        if EXIT_ERROR in codes or EXIT_USAGE in codes:
            return EXIT_ERROR
        if not self.waited:
            return EXIT_EXPECTATION
        return EXIT_OK


def cluster_info(target: Target) -> ClusterInfo:
    return target.manager.invoke(lambda client: client.get_broker_cluster_info())


def masters(info: ClusterInfo, cluster: str) -> dict[str, str]:
    """Master address -> broker name of every broker group of `cluster`, in mqadmin's order
    (the HashSet it collects them in); fails with the known clusters when it does not exist."""
    from nsctl.cli.mqadmin.java_format import hashmap_order

    names = info.cluster_addr_table.get(cluster)
    if names is None:
        known = ", ".join(sorted(info.cluster_addr_table)) or "none"
        fail(f"cluster {cluster!r} not found (known: {known})")
    found = {}
    for broker_name in hashmap_order(names):  # mqadmin walks its decoded HashSet
        broker = info.broker_addr_table.get(broker_name)
        if broker is not None and 0 in broker.broker_addrs:
            found[broker.broker_addrs[0]] = broker_name
    if not found:
        fail(f"cluster {cluster!r} has no master broker registered")
    return {address: found[address] for address in hashmap_order(found)}


def broker_name_of(info: ClusterInfo, address: str) -> str | None:
    for name, broker in info.broker_addr_table.items():
        if address in broker.broker_addrs.values():
            return name
    return None


def one_of(cluster: str | None, broker_addr: str | None) -> tuple[str | None, str | None]:
    """-c or -b, exactly one, stripped as mqadmin strips them."""
    if (cluster is None) == (broker_addr is None):
        fail("give exactly one of -c/--clusterName and -b/--brokerAddr", EXIT_USAGE)
    if broker_addr is not None:
        from nsctl.client.discovery import split_host_port

        broker_addr = broker_addr.strip()
        try:
            split_host_port(broker_addr)
        except ValueError:
            fail(f"invalid broker address {broker_addr!r}: expected host:port", EXIT_USAGE)
    return (cluster.strip() if cluster is not None else None), broker_addr


def on_brokers(
    target: Target,
    brokers: dict[str, str | None],
    action: str,
    change: Callable[[AsyncBrokerClient], Awaitable[tuple[Any, ...]]],
) -> list[Outcome]:
    """`change` on every broker at once; it returns (changed, mqadmin's lines) and may add
    the action it took when that is more precise than `action` ("created", "updated")."""
    from nsctl.cli.broker_answers import ask_brokers

    answers = ask_brokers(target, list(brokers), change)
    outcomes = []
    for address, name in brokers.items():
        answer = answers[address]
        outcome = Outcome("broker", address, action, name=name, error=answer.error)
        if answer.value is not None:
            outcome.changed, outcome.lines, *precise = answer.value
            outcome.action = precise[0] if precise else action
        outcomes.append(outcome)
    return outcomes


@dataclass
class Step:
    """One change of a broker's sequence (`in_turn`): `run(client)` returns whether it changed
    anything; `extra` goes into its JSON entry."""

    action: str
    run: Callable[[AsyncBrokerClient], Awaitable[bool | None]]
    extra: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def in_turn(target: Target, steps: dict[str, tuple[str | None, list[Step]]]) -> list[Outcome]:
    """Each broker's steps one after the other on one connection, every broker at once (address
    -> (broker name, steps)); each request bounded by --timeout. A refused step does not stop
    the next; a broker that stops answering (unreachable, timed out) is not sent the rest,
    which fail as "not sent", so the outcomes say exactly what each broker was told."""
    import asyncio

    from nsctl.client.broker_client import AsyncBrokerClient
    from nsctl.client.errors import (
        NameServerConnectionError,
        NameServerError,
        NameServerResponseError,
        NameServerTimeoutError,
    )

    seconds = target.timeout

    async def one(address: str, name: str | None, todo: list[Step]) -> list[Outcome]:
        outcomes = []
        stopped: str | None = None
        try:
            client = AsyncBrokerClient(
                address,
                timeout=seconds,
                connect_timeout=seconds,
                ssl_context=target.ssl_context,
                credentials=target.credentials,
            )
        except ValueError:
            client, stopped = None, f"invalid broker address {address!r}: expected host:port"
        try:
            for step in todo:
                outcome = Outcome("broker", address, step.action, name=name, extra=dict(step.extra))
                outcome.lines = list(step.lines)
                outcomes.append(outcome)
                if stopped is not None or client is None:
                    outcome.changed = False
                    outcome.extra["sent"] = False
                    outcome.error = NameServerConnectionError(
                        f"not sent: {stopped}", address=address
                    )
                    continue
                try:
                    outcome.changed = await asyncio.wait_for(step.run(client), seconds)
                except NameServerResponseError as error:
                    outcome.error = error
                except (NameServerError, asyncio.TimeoutError) as error:
                    if isinstance(error, asyncio.TimeoutError | NameServerTimeoutError):
                        # Sent but not answered: whether the broker took it is unknown.
                        error = NameServerTimeoutError(
                            f"no answer from {address} within {seconds:.3g}s (sent: it may "
                            "have taken the change)",
                            address=address,
                        )
                    outcome.error = error
                    stopped = f"{address} stopped answering before it"
        finally:
            if client is not None:
                await client.aclose()
        return outcomes

    async def every() -> list[list[Outcome]]:
        return await asyncio.gather(*(one(a, n, s) for a, (n, s) in steps.items() if s))

    return [o for outcomes in asyncio.run(every()) for o in outcomes]


def on_namesrvs(
    target: Target, action: str, change: Callable[[Any], bool | None], lines: list[str]
) -> list[Outcome]:
    """`change(client)` on every NameServer (each retried on its own); it returns whether it
    changed anything (None: unknown)."""
    results = target.manager.broadcast(change)
    outcomes = []
    for address, value in results.items():
        failed = value if isinstance(value, BaseException) else None
        outcome = Outcome("namesrv", address, action, error=failed, lines=list(lines))
        if failed is None:
            outcome.changed = value
        outcomes.append(outcome)
    return outcomes


def wait_for(
    target: Target,
    seconds: float,
    shows: Callable[[Any], str | None],
    brokers: list[str] | None = None,
) -> WaitResult:
    """Ask every NameServer (or every one of `brokers`) until `shows` holds on each."""
    from nsctl.client.convergence import wait_until

    client_class = None
    if brokers is not None:
        from nsctl.client.broker_client import BrokerClient

        client_class = BrokerClient
    return wait_until(
        brokers if brokers is not None else target.addresses,
        shows,
        client_class=client_class,
        timeout=seconds,
        request_timeout=target.timeout,
        ssl_context=target.ssl_context,
        credentials=target.credentials,
    )


def finish(target: Target, report: WriteReport) -> None:
    """Print the report, one stderr line naming what failed, and exit with its code."""
    failed = [o for o in report.outcomes if not o.ok]
    if target.output == Output.json:
        emit_json(_json_document(report))
    elif target.output == Output.plain:
        # mqadmin's success text would be read as success by scripts that grep it.
        if not failed:
            emit_lines(line for o in report.outcomes for line in o.lines)
            emit_lines(report.closing)
    else:
        rows = [(o.kind, o.describe(), o.action, o.result_text()) for o in report.outcomes]
        for kind, result in report.waits:
            for address in result.shown:
                rows.append((kind, address, "--wait", f"shows it ({result.seconds:.1f} s)"))
            for address, why in result.pending.items():
                rows.append((kind, address, "--wait", f"NOT SHOWN: {why}"))
        title = ", ".join(
            f"{k} {', '.join(v) if isinstance(v, list) else v}" for k, v in report.subject.items()
        )
        emit_table(title, ("Target", "Address", "Action", "Result"), rows)
    code = report.exit_code
    if failed:
        details = "; ".join(f"{o.kind} {o.describe()}: {classify(o.error)[1]}" for o in failed)
        print(
            f"nsctl: {len(failed)} of {len(report.outcomes)} targets failed: {details}",
            file=sys.stderr,
        )
    elif not report.waited:
        pending = "; ".join(
            f"{kind} {a}: {why}"
            for kind, result in report.waits
            for a, why in result.pending.items()
        )
        seconds = max(result.seconds for _, result in report.waits)
        print(f"nsctl: --wait: not shown after {seconds:.1f} s by {pending}", file=sys.stderr)
    if code:
        raise typer.Exit(code)


def _json_document(report: WriteReport) -> dict[str, Any]:
    def entry(o: Outcome) -> dict[str, Any]:
        # NameServer entries are shaped as every command sent to every NameServer shapes them.
        data: dict[str, Any] = {"address" if o.kind == "broker" else "namesrv": o.address}
        if o.kind == "broker":
            data["brokerName"] = o.name
        data.update({"action": o.action, "ok": o.ok, "changed": o.changed})
        if o.error is not None:
            code, message = classify(o.error)
            data.update({"error": message, "exitCode": code})
        data.update(o.extra)
        return data

    document = dict(report.subject)
    document[report.broker_key] = [entry(o) for o in report.outcomes if o.kind == "broker"]
    document["results"] = [entry(o) for o in report.outcomes if o.kind == "namesrv"]
    if report.waits:
        document["wait"] = {
            "ok": report.waited,
            "seconds": round(max(result.seconds for _, result in report.waits), 3),
            "shown": [{"target": k, "address": a} for k, r in report.waits for a in r.shown],
            "pending": [
                {"target": k, "address": a, "reason": why}
                for k, r in report.waits
                for a, why in r.pending.items()
            ],
        }
    document["exitCode"] = report.exit_code
    return document


def targets(
    target: Target, cluster: str | None, broker_addr: str | None
) -> tuple[dict[str, str | None], ClusterInfo | None]:
    """The brokers a write goes to: the masters of -c, or the -b address (its broker name
    looked up when the NameServers list it)."""
    if cluster is not None:
        info = cluster_info(target)
        return dict(masters(info, cluster)), info
    assert broker_addr is not None
    return {broker_addr: None}, None


def names_from(info: ClusterInfo | None, brokers: dict[str, str | None], target: Target) -> None:
    """Fill in the broker names of -b addresses (for messages and --wait)."""
    missing = [a for a, n in brokers.items() if n is None]
    if not missing:
        return
    try:
        info = info or cluster_info(target)
    except Exception:  # names are for messages; the write itself does not need them
        return
    for address in missing:
        brokers[address] = broker_name_of(info, address)


def true_or_false(flag: str, value: str | None) -> bool | None:
    """mqadmin's `true|false` option values (None when not given); anything else is a usage
    error, where mqadmin would read it as false."""
    if value is None:
        return None
    text = value.strip().lower()
    if text not in ("true", "false"):
        fail(f"{flag} takes true or false, not {value!r}", EXIT_USAGE)
    return text == "true"


def order_and_output(
    values: list[str] | None, target: Target, flag: str
) -> tuple[bool | None, Output]:
    """The values of a write's own `-o`: (true/false given, the output format)."""
    import click

    from nsctl.cli.options import split_o

    try:
        return split_o(values, target.output, flag)
    except click.UsageError as error:
        fail(error.format_message(), EXIT_USAGE)
