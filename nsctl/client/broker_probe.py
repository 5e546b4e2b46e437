"""Do the brokers the NameServers list really answer?

A NameServer keeps listing a broker for up to 120 s after it stops answering (a crashed host,
a network partition): every route looks fine while producers fail. `probe_listed_brokers` asks
each listed broker address for its runtime info, all at once, and says which do not answer.
Used by `check --probe-brokers` and `watch --cluster --probe-brokers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nsctl.client.broker_fanout import runtime_infos
from nsctl.client.snapshot import Snapshot
from nsctl.protocol.codes import MASTER_ID

if TYPE_CHECKING:
    import ssl

    from nsctl.protocol.acl import Credentials


@dataclass
class BrokerProbe:
    """One broker address, who lists it, and whether it answered."""

    address: str
    broker_name: str
    broker_id: int
    cluster: str
    listed_by: list[str] = field(default_factory=list)
    reachable: bool | None = None
    latency_ms: float | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.broker_name} {self.address} (id {self.broker_id})"

    def failure(self) -> str:
        """The line `check` reports for a broker that does not answer."""
        return f"{self.label} listed by {', '.join(self.listed_by)} does not answer: {self.error}"

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "name": self.broker_name,
            "id": self.broker_id,
            "cluster": self.cluster,
            "listedBy": list(self.listed_by),
            "reachable": self.reachable,
            "latencyMs": None if self.latency_ms is None else round(self.latency_ms, 2),
            "error": self.error,
        }


def brokers_listed_in(cluster_snapshots: Mapping[str, Snapshot | None]) -> list[BrokerProbe]:
    """Every broker address any NameServer lists (from their cluster snapshots), not probed
    yet, sorted by cluster, name, id, address."""
    found: dict[str, BrokerProbe] = {}
    for namesrv, snapshot in cluster_snapshots.items():
        for cluster, brokers in ((snapshot or {}).get("clusters") or {}).items():
            for name, addrs in brokers.items():
                for broker_id, address in addrs.items():
                    probe = found.get(address)
                    if probe is None:
                        probe = found[address] = BrokerProbe(address, name, int(broker_id), cluster)
                    if namesrv not in probe.listed_by:
                        probe.listed_by.append(namesrv)
    return sorted(found.values(), key=lambda p: (p.cluster, p.broker_name, p.broker_id, p.address))


async def probe_listed_brokers(
    cluster_snapshots: Mapping[str, Snapshot | None],
    *,
    timeout: float = 3.0,
    ssl_context: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> list[BrokerProbe]:
    """Ask every listed broker at once; each gets `timeout` to answer."""
    probes = brokers_listed_in(cluster_snapshots)
    answers = await runtime_infos(
        [p.address for p in probes],
        timeout=timeout,
        ssl_context=ssl_context,
        credentials=credentials,
    )
    for probe in probes:
        answer = answers[probe.address]
        probe.reachable = answer.reachable
        probe.latency_ms = answer.latency_ms
        probe.error = answer.error_text
    return probes


def answering_masters(snapshot: Snapshot, probes: list[BrokerProbe]) -> int:
    """Broker groups of `snapshot` whose master address answered a probe."""
    answering = {p.address for p in probes if p.reachable}
    return sum(
        1
        for brokers in snapshot["clusters"].values()
        for addrs in brokers.values()
        if addrs.get(str(MASTER_ID)) in answering
    )
