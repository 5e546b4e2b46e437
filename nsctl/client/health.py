"""Cluster health as CI sees it: ask every NameServer at once, compare, check expectations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nsctl.client.broker_probe import BrokerProbe, answering_masters, probe_listed_brokers
from nsctl.client.client import AsyncNameServerClient
from nsctl.client.errors import NameServerError, TopicNotFoundError, is_server_side_failure
from nsctl.client.snapshot import (
    Snapshot,
    cluster_snapshot,
    disagreement,
    live_masters,
    topic_snapshot,
    writable_queues,
)

if TYPE_CHECKING:
    import ssl

    from nsctl.protocol.acl import Credentials


@dataclass
class NameServerHealth:
    address: str
    reachable: bool
    latency_ms: float | None = None
    error: str | None = None
    masters: int = 0
    brokers: int = 0
    topics: int = 0
    clusters: Snapshot | None = None
    routes: dict[str, Snapshot | None] = field(default_factory=dict)
    #: For an unreachable NameServer: whether another attempt might fare better.
    retryable: bool = field(default=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        # What an unreachable NameServer holds is unknown: null, not 0.
        known = self.reachable
        return {
            "namesrv": self.address,
            "reachable": self.reachable,
            "latencyMs": None if self.latency_ms is None else round(self.latency_ms, 2),
            "error": self.error,
            "liveMasters": self.masters if known else None,
            "brokerAddresses": self.brokers if known else None,
            "topicCount": self.topics if known else None,
            "clusters": (self.clusters or {}).get("clusters"),
            "routes": self.routes if known else None,
        }


@dataclass
class HealthReport:
    namesrvs: list[NameServerHealth]
    disagreements: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: Set when the brokers were probed (`probe_brokers=True`).
    brokers: list[BrokerProbe] | None = None

    @property
    def reachable(self) -> list[NameServerHealth]:
        return [n for n in self.namesrvs if n.reachable]

    @property
    def healthy(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        data = {
            "healthy": self.healthy,
            "failures": self.failures,
            "disagreements": self.disagreements,
            "namesrvs": [n.to_json() for n in self.namesrvs],
        }
        if self.brokers is not None:
            data["brokers"] = [b.to_json() for b in self.brokers]
        return data


async def probe(
    address: str,
    topics: list[str],
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    *,
    retries: int = 0,
    retry_interval: float = 0.2,
    credentials: Credentials | None = None,
) -> NameServerHealth:
    """Everything `check` needs from one NameServer; up to `retries` more attempts when it
    cannot be reached, times out or answers a server-side failure."""
    for attempt in range(retries + 1):
        if attempt:
            await asyncio.sleep(retry_interval)
        health = await _probe_once(address, topics, timeout, ssl_context, credentials)
        if health.reachable or not health.retryable:
            break
    return health


async def _probe_once(
    address: str,
    topics: list[str],
    timeout: float,
    ssl_context: ssl.SSLContext | None,
    credentials: Credentials | None = None,
) -> NameServerHealth:
    client = AsyncNameServerClient(
        address,
        timeout=timeout,
        connect_timeout=timeout,
        ssl_context=ssl_context,
        credentials=credentials,
    )
    async with client:
        try:
            started = time.perf_counter()
            info = await client.get_broker_cluster_info()
            latency = (time.perf_counter() - started) * 1000
            topic_list = await client.get_all_topic_list()
            routes = {}
            for topic in topics:
                try:
                    routes[topic] = topic_snapshot(await client.query_topic_route_info(topic))
                except TopicNotFoundError:
                    routes[topic] = None
        except NameServerError as error:
            return NameServerHealth(
                address,
                False,
                error=" ".join(str(error).split()),
                retryable=is_server_side_failure(error),
            )
    clusters = cluster_snapshot(info)
    return NameServerHealth(
        address,
        True,
        latency_ms=latency,
        masters=live_masters(clusters),
        brokers=sum(len(b.broker_addrs) for b in info.broker_addr_table.values()),
        topics=len(topic_list.topic_list),
        clusters=clusters,
        routes=routes,
    )


async def check_health(
    addresses: list[str],
    *,
    topics: Sequence[str] = (),
    timeout: float = 3.0,
    expect_brokers: int | None = None,
    expect_clusters: Sequence[str] = (),
    consistent: bool = False,
    probe_brokers: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    retries: int = 0,
    credentials: Credentials | None = None,
) -> HealthReport:
    """Probe every address in parallel and judge the expectations.

    A NameServer that does not answer is a failure in itself: clients that picked it cannot
    route. Expectations are judged on every NameServer that answered. With `probe_brokers`,
    every broker address any of them lists must answer a broker query within `timeout`, and
    `expect_brokers` counts only masters that answer.
    """
    results = await asyncio.gather(
        *(
            probe(a, list(topics), timeout, ssl_context, retries=retries, credentials=credentials)
            for a in addresses
        )
    )
    report = HealthReport(list(results))
    up = report.reachable
    report.disagreements = _disagreements(up, list(topics))
    for health in report.namesrvs:
        if not health.reachable:
            report.failures.append(f"{health.address}: unreachable ({health.error})")
    if probe_brokers:
        report.brokers = await probe_listed_brokers(
            {h.address: h.clusters for h in up},
            timeout=timeout,
            ssl_context=ssl_context,
            credentials=credentials,
        )
        report.failures += [b.failure() for b in report.brokers if not b.reachable]
    for health in up:
        if expect_brokers is not None:
            if report.brokers is None:
                masters, what = health.masters, "live master(s)"
            else:
                masters = answering_masters(health.clusters or {"clusters": {}}, report.brokers)
                what = "live master(s) that answer"
            if masters < expect_brokers:
                report.failures.append(
                    f"{health.address}: {masters} {what}, expected {expect_brokers}"
                )
        for cluster in expect_clusters:
            if cluster not in (health.clusters or {}).get("clusters", {}):
                report.failures.append(f"{health.address}: cluster {cluster} not registered")
        for topic in topics:
            if writable_queues(health.routes.get(topic)) == 0:
                state = "no route" if health.routes.get(topic) is None else "no writable queue"
                report.failures.append(f"{health.address}: topic {topic}: {state} on a master")
    if consistent:
        report.failures += [f"NameServers disagree on {what}" for what in report.disagreements]
    return report


def _disagreements(up: list[NameServerHealth], topics: list[str]) -> list[str]:
    found = []
    if disagreement({n.address: n.clusters for n in up}):
        found.append("brokers")
    for topic in topics:
        if disagreement({n.address: n.routes.get(topic) for n in up}):
            found.append(f"topic {topic}")
    return found
