"""check's view: one row per NameServer and, with --probe-brokers, one per broker probed, for
the table and the tab-separated plain lines alike (json is the report's own document)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nsctl.client.broker_probe import BrokerProbe
    from nsctl.client.health import HealthReport

NAMESRV_COLUMNS = ("NameServer", "Status", "Latency", "Masters", "Brokers", "Topics")
PROBE_COLUMNS = ("Broker", "Address", "ID", "Cluster", "Status", "Latency")


def _latency(ms: float | None) -> str:
    return f"{ms:.1f} ms" if ms is not None else "-"


def namesrv_rows(report: HealthReport) -> list[tuple[Any, ...]]:
    return [
        (
            n.address,
            "up" if n.reachable else "DOWN",
            _latency(n.latency_ms),
            n.masters if n.reachable else "-",
            n.brokers if n.reachable else "-",
            n.topics if n.reachable else "-",
        )
        for n in report.namesrvs
    ]


def probe_rows(probes: list[BrokerProbe]) -> list[tuple[Any, ...]]:
    return [
        (
            p.broker_name,
            p.address,
            p.broker_id,
            p.cluster,
            "up" if p.reachable else "DOWN",
            _latency(p.latency_ms),
        )
        for p in probes
    ]


def verdict_lines(report: HealthReport) -> list[str]:
    return ["OK"] if report.healthy else [f"FAIL {failure}" for failure in report.failures]
