"""`nsctl watch`: follow topic routes, cluster membership or KV namespaces as they change.

On a terminal it shows a live view (state per NameServer, changes highlighted, a log of the
last changes); piped, it writes one JSON object per change and flushes each line at once.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from nsctl.cli.failures import EXIT_EXPECTATION, EXIT_UNREACHABLE, EXIT_USAGE, fail
from nsctl.cli.options import nameserver_command
from nsctl.cli.target import Output, Target

if TYPE_CHECKING:
    from nsctl.client.snapshot import Subject
    from nsctl.client.watcher import Watcher, WatchEvent

UNTIL_HELP = (
    "Stop (exit 0) once this holds on every NameServer that answers: 'writable' (each topic "
    "has a writable queue on a master), 'exists', 'absent', 'consistent' (they all agree), "
    "'masters>=N'."
)


@dataclass(frozen=True)
class Until:
    """A stop condition, checked after every poll round."""

    kind: str
    number: int = 0

    @classmethod
    def parse(cls, text: str) -> Until:
        text = text.strip().replace(" ", "")
        if text in ("writable", "exists", "absent", "consistent"):
            return cls(text)
        match = re.fullmatch(r"(?:masters|brokers)>=(\d+)", text)
        if match:
            return cls("masters", int(match.group(1)))
        raise typer.BadParameter(f"unknown --until expression {text!r}. {UNTIL_HELP}")

    def holds(self, watcher: Watcher) -> bool:
        from nsctl.client.snapshot import disagreement, live_masters, writable_queues

        up = [s for s in watcher.states.values() if s.up]
        if not up:
            return False
        topics = [s for s in watcher.subjects if s.kind == "topic"]
        if self.kind == "writable":
            return all(writable_queues(st.snapshots.get(t)) > 0 for st in up for t in topics)
        if self.kind == "exists":
            return all(st.snapshots.get(t) is not None for st in up for t in topics)
        if self.kind == "absent":
            return all(st.snapshots.get(t) is None for st in up for t in topics)
        if self.kind == "consistent":
            return not any(
                disagreement({i: st.snapshots.get(s) for i, st in enumerate(up)})
                for s in watcher.subjects
            )
        cluster = [s for s in watcher.subjects if s.kind == "cluster"]
        return all(live_masters(st.snapshots[cluster[0]]) >= self.number for st in up)


@nameserver_command(
    "watch",
    help="Watch topic routes (-t), cluster membership (--cluster) or KV namespaces (-s) on every "
    "NameServer and show changes as they happen: a live view on a terminal, one JSON object per "
    "change when piped. Ctrl-C ends it.",
    request_timeout_flag="--request-timeout",
)
def watch(
    target: Target,
    topics: Annotated[
        list[str] | None, typer.Option("-t", "--topic", help="Topic to watch (repeatable).")
    ] = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="Watch cluster membership.")] = False,
    namespaces: Annotated[
        list[str] | None,
        typer.Option("-s", "--namespace", help="KV namespace to watch (repeatable)."),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, help="Seconds between polls.")
    ] = 2.0,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after N changes (exit 0).")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help=UNTIL_HELP,
            autocompletion=lambda: ["writable", "exists", "absent", "consistent", "masters>=1"],
        ),
    ] = None,
    probe_brokers: Annotated[
        bool,
        typer.Option(
            "--probe-brokers",
            help="Also ask every listed broker each round (implies --cluster): "
            "broker_unreachable / broker_reachable events, DOWN brokers marked in the live view.",
        ),
    ] = False,
    watch_timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.0,
            help="Stop after this many seconds: exit 0, or 4 if --until has not held by then "
            "(3 if no NameServer ever answered).",
        ),
    ] = None,
) -> None:
    from nsctl.client.snapshot import Subject

    subjects = [Subject("topic", t) for t in topics or []]
    subjects += [Subject("kv", n) for n in namespaces or []]
    condition = Until.parse(until) if until else None
    if cluster or probe_brokers or (condition and condition.kind == "masters"):
        subjects.append(Subject("cluster"))
    if not subjects:
        fail("nothing to watch: give -t TOPIC, --cluster or -s NAMESPACE", EXIT_USAGE)
    if condition and condition.kind in ("writable", "exists", "absent") and not topics:
        fail(f"--until {condition.kind} needs at least one -t TOPIC", EXIT_USAGE)
    live = target.output == Output.table and sys.stdout.isatty()
    import asyncio

    try:
        code = asyncio.run(
            _watch(
                target,
                subjects,
                interval,
                count,
                condition,
                until,
                watch_timeout,
                live,
                probe_brokers,
            )
        )
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


async def _watch(
    target: Target,
    subjects: list[Subject],
    interval: float,
    count: int | None,
    condition: Until | None,
    until_text: str | None,
    watch_timeout: float | None,
    live: bool,
    probe_brokers: bool = False,
) -> int:
    import asyncio

    from nsctl.cli.address_refresh import AddressRefresher
    from nsctl.cli.render import reader_gone
    from nsctl.client.watcher import Watcher, WatchEvent

    watcher = Watcher(
        target.addresses,
        subjects,
        interval=interval,
        timeout=target.timeout,
        ssl_context=target.ssl_context,
        retries=target.retries,
        probe_brokers=probe_brokers,
    )
    refresher = AddressRefresher(target)
    view = LiveView(watcher) if live else None
    deadline = None if watch_timeout is None else time.monotonic() + watch_timeout
    changes = 0

    def left() -> float:
        return float("inf") if deadline is None else deadline - time.monotonic()

    def at_deadline() -> int:
        if not any(s.last_answer for s in watcher.states.values()):
            fail(f"no NameServer answered within {watch_timeout:g} s", EXIT_UNREACHABLE)
        if condition is not None:
            fail(f"--until {until_text} did not hold within {watch_timeout:g} s", EXIT_EXPECTATION)
        return 0

    def show(events: list[WatchEvent]) -> None:
        for event in events:
            if view:
                view.add(event)
            else:
                _print_event(event, target.output)
        if view:
            view.refresh()

    try:
        if view:
            view.start()
        while True:
            started = time.monotonic()
            addresses = await refresher.changed()
            if addresses is not None:
                added, removed = watcher.set_addresses(addresses)
                detail = {"namesrvs": addresses, "added": added, "removed": removed}
                show([WatchEvent(time.time(), "namesrvs_changed", detail=detail)])
            try:
                # Requests are cut off at the deadline too: --timeout is a promise.
                limit = None if deadline is None else max(left(), 0.0)
                batch = await asyncio.wait_for(watcher.poll_once(), limit)
            except asyncio.TimeoutError:
                return at_deadline()
            show(batch)
            changes += sum(
                e.kind not in ("snapshot", "namesrv_up", "namesrv_down", "namesrvs_changed")
                for e in batch
            )
            if condition and condition.holds(watcher):
                return 0
            if count is not None and changes >= count:
                return 0
            # Sleep until the next poll or the deadline, noticing a reader that went away even
            # when there is nothing to write.
            wake = started + interval
            while True:
                if not live and reader_gone():
                    return 0
                if left() <= 0:
                    return at_deadline()
                now = time.monotonic()
                if now >= wake:
                    break
                await asyncio.sleep(min(0.2, wake - now))
    finally:
        if view:
            view.stop()
        await watcher.aclose()


def _print_event(event: WatchEvent, output: Output) -> None:
    from nsctl.cli.render import emit_json_line, write

    if output == Output.json or output == Output.table:
        emit_json_line(event.to_json())
    else:
        write(_describe(event) + "\n")


def _describe(event: WatchEvent) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
    where = event.namesrv or "all NameServers"
    what = f" {event.subject}" if event.subject else ""
    detail = {k: v for k, v in event.detail.items() if k != "state"}
    extra = " " + json.dumps(detail, ensure_ascii=False) if detail else ""
    return f"{stamp} {where} {event.kind}{what}{extra}"


class LiveView:
    """The terminal view: a table per NameServer state, changes highlighted, a change log."""

    HIGHLIGHT_SECONDS = 6.0

    def __init__(self, watcher: Watcher) -> None:
        from rich.console import Console
        from rich.live import Live

        self.watcher = watcher
        self.log: deque[WatchEvent] = deque(maxlen=100)  # as many as the terminal shows
        self.recent: dict[tuple, float] = {}
        self.live = Live(console=Console(), auto_refresh=False, transient=False)

    def start(self) -> None:
        self.live.start()
        self.refresh()

    def stop(self) -> None:
        self.live.stop()

    def add(self, event: WatchEvent) -> None:
        if event.kind != "snapshot":
            self.log.append(event)
        broker = event.detail.get("broker") or event.detail.get("key")
        self.recent[(event.namesrv, event.subject, broker)] = time.monotonic()
        self.recent[(event.namesrv, event.subject, None)] = time.monotonic()

    def _hot(self, namesrv, subject, item) -> bool:
        seen = self.recent.get((namesrv, subject, item))
        return seen is not None and time.monotonic() - seen < self.HIGHLIGHT_SECONDS

    def refresh(self) -> None:
        self.live.update(self._render(), refresh=True)

    def _render(self):
        """Everything that fits the terminal, the newest changes always: the change log gets the
        lines the state tables leave free (at least its latest few entries), and state tables
        taller than that are cut at the bottom."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from nsctl.cli.render import fit_tables

        console = self.live.console
        status = Table(title="NameServers", title_justify="left")
        for column in ("NameServer", "Status", "Detail"):
            status.add_column(column, overflow="fold")
        for address, state in self.watcher.states.items():
            label = {None: ("...", "dim"), True: ("UP", "green"), False: ("DOWN", "bold red")}
            text, style = label[state.up]
            status.add_row(address, Text(text, style=style), state.error or "")
        state_view = Group(status, *(self._subject_table(s) for s in self.watcher.subjects))
        fit_tables(state_view, console.width)
        state_lines = console.render_lines(state_view, console.options, pad=False)
        height = console.height - 1  # the cursor's line
        events = list(self.log)
        log = self._log_table(events)
        keep = min(len(events), max(3, height // 4))  # the latest few, however tall the state
        while len(events) > keep:  # drop the oldest until the log fits below the state
            log_height = len(console.render_lines(log, console.options, pad=False))
            if len(state_lines) + log_height <= height:
                break
            events = events[1:]
            log = self._log_table(events)
        log_height = len(console.render_lines(log, console.options, pad=False))
        while len(events) > 1 and log_height > height - 1:  # a tiny terminal: fewer still
            events = events[1:]
            log = self._log_table(events)
            log_height = len(console.render_lines(log, console.options, pad=False))
        room = height - log_height
        if len(state_lines) > room:
            hidden = len(state_lines) - room + 1
            state_lines = state_lines[: max(room - 1, 0)]
            note = f"... {hidden} more lines: a taller terminal shows them"
            state_lines.append(list(console.render_str(note, style="dim").render(console)))
        return Group(_Lines(state_lines), log)

    def _log_table(self, events: list[WatchEvent]):
        from rich.table import Table
        from rich.text import Text

        from nsctl.cli.render import fit_tables

        log = Table(title="Last changes", title_justify="left")
        for column in ("Time", "NameServer", "Change"):
            log.add_column(column, overflow="fold")
        for event in events:
            stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
            style = "bold yellow" if time.time() - event.ts < self.HIGHLIGHT_SECONDS else ""
            detail = _describe(event).split(" ", 2)[2]
            log.add_row(stamp, event.namesrv or "all", Text(detail, style=style))
        fit_tables(log, self.live.console.width)
        return log

    def _subject_table(self, subject: Subject):
        from rich.table import Table
        from rich.text import Text

        diverged = " (NameServers DISAGREE)" if self.watcher.diverged(subject) else ""
        table = Table(title=f"{subject}{diverged}", title_justify="left")
        if subject.kind == "topic":
            columns = ("NameServer", "Broker", "Read", "Write", "Perm", "Addresses")
        elif subject.kind == "cluster":
            columns = ("NameServer", "Cluster", "Broker", "Addresses")
        else:
            columns = ("NameServer", "Key", "Value")
        for column in columns:
            table.add_column(column, overflow="fold")
        from nsctl.cli.views.watch import watch_rows

        down = self.watcher.unreachable_brokers
        for address, state in self.watcher.states.items():
            snapshot = state.snapshots.get(subject)
            for item, cells in watch_rows(subject, snapshot, down):
                style = "bold yellow" if self._hot(address, subject, item) else ""
                table.add_row(address, *(Text(str(c), style=style) for c in cells))
        return table


class _Lines:
    """Lines already rendered (a cropped part of the live view)."""

    def __init__(self, lines: list) -> None:
        self.lines = lines

    def __rich_console__(self, console, options):
        from rich.segment import Segment

        for line in self.lines:
            yield from line
            yield Segment.line()
