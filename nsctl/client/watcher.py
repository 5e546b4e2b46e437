"""Poll several NameServers and turn what they say into a stream of change events.

NameServers do not talk to each other, so each one is polled on its own: a change is reported
per NameServer, a NameServer that stops answering is reported down (and up again later), and a
subject on which the NameServers that answer disagree is reported as diverged / converged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nsctl.client.broker_probe import BrokerProbe, probe_listed_brokers
from nsctl.client.client import AsyncNameServerClient
from nsctl.client.errors import (
    KVConfigNotFoundError,
    NameServerError,
    TopicNotFoundError,
    is_server_side_failure,
)
from nsctl.client.snapshot import (
    Change,
    Snapshot,
    Subject,
    cluster_snapshot,
    diff,
    disagreement,
    kv_snapshot,
    topic_snapshot,
)

if TYPE_CHECKING:
    import ssl

    from nsctl.protocol.acl import Credentials


@dataclass
class WatchEvent:
    """Something that happened: a change on one NameServer, or a NameServer going down/up,
    or NameServers starting/stopping to disagree (`namesrv` is None then)."""

    ts: float
    kind: str
    namesrv: str | None = None
    subject: Subject | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_change(cls, ts: float, namesrv: str, change: Change) -> WatchEvent:
        return cls(ts, change.kind, namesrv, change.subject, change.detail)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ts": round(self.ts, 3), "kind": self.kind}
        if self.namesrv is not None:
            data["namesrv"] = self.namesrv
        if self.subject is not None:
            data["subject"] = self.subject.kind
            data.update(Change(self.kind, self.subject).to_json())
        data.update(self.detail)
        data["kind"] = self.kind
        return data


@dataclass
class NameServerState:
    up: bool | None = None  # None until the first poll
    error: str | None = None
    snapshots: dict[Subject, Snapshot | None] = field(default_factory=dict)
    last_answer: float | None = None


class Watcher:
    """Polls `subjects` on every address each `interval` seconds."""

    def __init__(
        self,
        addresses: list[str],
        subjects: list[Subject],
        *,
        interval: float = 2.0,
        timeout: float = 3.0,
        ssl_context: ssl.SSLContext | None = None,
        credentials: Credentials | None = None,
        retries: int = 0,
        retry_interval: float = 0.2,
        probe_brokers: bool = False,
    ) -> None:
        self.addresses: list[str] = []
        self.subjects = subjects
        self.interval = interval
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.credentials = credentials
        #: Extra attempts within one poll before a NameServer is reported down.
        self.retries = retries
        self.retry_interval = retry_interval
        self.states: dict[str, NameServerState] = {}
        #: With `probe_brokers` (and a cluster subject), every listed broker is asked each round.
        self.probe_brokers = probe_brokers
        #: Broker address -> the latest probe of it (only the addresses listed right now).
        self.brokers: dict[str, BrokerProbe] = {}
        self._diverged: set[Subject] = set()
        self._clients: dict[str, AsyncNameServerClient] = {}
        self._retired: list[AsyncNameServerClient] = []
        self.set_addresses(addresses)

    def set_addresses(self, addresses: list[str]) -> tuple[list[str], list[str]]:
        """Poll these NameServers from now on (an address server's list changed); returns the
        addresses added and removed. Removed ones are forgotten, added ones start afresh."""
        added = [a for a in addresses if a not in self.states]
        removed = [a for a in self.addresses if a not in addresses]
        for address in removed:
            del self.states[address]
            self._retired.append(self._clients.pop(address))
        for address in added:
            self.states[address] = NameServerState()
            self._clients[address] = AsyncNameServerClient(
                address,
                timeout=self.timeout,
                connect_timeout=self.timeout,
                ssl_context=self.ssl_context,
                credentials=self.credentials,
            )
        self.addresses = list(addresses)
        return added, removed

    async def aclose(self) -> None:
        clients = [*self._clients.values(), *self._retired]
        self._retired = []
        await asyncio.gather(*(client.aclose() for client in clients))

    async def events(self) -> AsyncIterator[list[WatchEvent]]:
        """One batch of events per poll round (possibly empty), forever."""
        while True:
            started = time.monotonic()
            yield await self.poll_once()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def poll_once(self) -> list[WatchEvent]:
        retired, self._retired = self._retired, []
        await asyncio.gather(*(client.aclose() for client in retired))
        results = await asyncio.gather(*(self._poll(address) for address in self.addresses))
        events = [event for batch in results for event in batch]
        events += self._divergence(time.time())
        if self.probe_brokers:
            events += await self._probe_brokers()
        return events

    @property
    def unreachable_brokers(self) -> set[str]:
        return {address for address, p in self.brokers.items() if p.reachable is False}

    async def _probe_brokers(self) -> list[WatchEvent]:
        """Ask every broker the answering NameServers list; report each that stops or starts
        answering (one that is unreachable when first seen is reported too)."""
        cluster = Subject("cluster")
        listed = {a: s.snapshots.get(cluster) for a, s in self.states.items() if s.up}
        probes = await probe_listed_brokers(
            listed,
            timeout=self.timeout,
            ssl_context=self.ssl_context,
            credentials=self.credentials,
        )
        now = time.time()
        events = []
        for probe in probes:
            before = self.brokers.get(probe.address)
            was = before.reachable if before is not None else None
            if probe.reachable is was or (was is None and probe.reachable):
                continue
            kind = "broker_reachable" if probe.reachable else "broker_unreachable"
            detail = {
                "broker": probe.broker_name,
                "brokerId": probe.broker_id,
                "address": probe.address,
                "cluster": probe.cluster,
                "listedBy": list(probe.listed_by),
            }
            if not probe.reachable:
                detail["error"] = probe.error
            events.append(WatchEvent(now, kind, None, cluster, detail))
        self.brokers = {p.address: p for p in probes}
        return events

    async def _poll(self, address: str) -> list[WatchEvent]:
        state = self.states[address]
        try:
            snapshots = await self._fetch_all(address)
        except NameServerError as error:
            now = time.time()
            message = " ".join(str(error).split())
            was_up = state.up
            state.up, state.error = False, message
            if was_up is False:
                return []
            return [WatchEvent(now, "namesrv_down", address, detail={"error": message})]
        now = time.time()
        events = []
        if state.up is not True:
            events.append(WatchEvent(now, "namesrv_up", address))
        first = state.last_answer is None
        for subject, snapshot in snapshots.items():
            if first:
                events.append(WatchEvent(now, "snapshot", address, subject, {"state": snapshot}))
            else:
                events += [
                    WatchEvent.from_change(now, address, change)
                    for change in diff(subject, state.snapshots.get(subject), snapshot)
                ]
        state.up, state.error, state.snapshots, state.last_answer = True, None, snapshots, now
        return events

    async def _fetch_all(self, address: str) -> dict[Subject, Snapshot | None]:
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.retry_interval)
            try:
                return {s: await self._fetch(address, s) for s in self.subjects}
            except NameServerError as error:
                if attempt == self.retries or not is_server_side_failure(error):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch(self, address: str, subject: Subject) -> Snapshot | None:
        client = self._clients[address]
        if subject.kind == "topic":
            try:
                return topic_snapshot(await client.query_topic_route_info(subject.name))
            except TopicNotFoundError:
                return None
        if subject.kind == "cluster":
            return cluster_snapshot(await client.get_broker_cluster_info())
        try:
            return kv_snapshot(await client.get_kv_list_by_namespace(subject.name))
        except KVConfigNotFoundError:
            return None

    def _divergence(self, now: float) -> list[WatchEvent]:
        up = [a for a, s in self.states.items() if s.up]
        events = []
        for subject in self.subjects:
            views = {a: self.states[a].snapshots.get(subject) for a in up}
            differs = len(views) > 1 and disagreement(views)
            if differs and subject not in self._diverged:
                self._diverged.add(subject)
                events.append(
                    WatchEvent(now, "diverged", None, subject, {"namesrvs": sorted(views)})
                )
            elif not differs and subject in self._diverged:
                self._diverged.discard(subject)
                events.append(WatchEvent(now, "converged", None, subject))
        return events

    def diverged(self, subject: Subject) -> bool:
        return subject in self._diverged
