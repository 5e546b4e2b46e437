"""`serve --metrics-port`: Prometheus / OpenMetrics text at /metrics, by prometheus-client.

The server counts in plain integers on its event loop (`nsctl.server.stats`, the answer cache's
`slot_hits`, the tables' sizes); nothing of prometheus-client is touched per request. A custom
collector reads those integers when /metrics is scraped, in prometheus-client's HTTP thread,
and prometheus-client writes the exposition (text format, or OpenMetrics when the scraper asks
for it). `METRICS` documents every family; `serve --help` and the README list the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from nsctl.protocol.codes import RequestCode, ResponseCode
from nsctl.server.stats import LATENCY_BUCKETS, NO_ANSWER, OTHER, Histogram

if TYPE_CHECKING:
    from nsctl.server.server import NameServer

#: name (as exposed) -> (type, labels, help). The README's table is this one.
METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "nsctl_requests_total": (
        "counter",
        ("code", "outcome"),
        "Requests answered, answer-cache hits included, by request code and response code "
        "(no_answer: one-way requests).",
    ),
    "nsctl_request_duration_seconds": (
        "histogram",
        ("code",),
        "Time from a complete frame to its encoded answer, for requests answered by dispatch "
        "(answer-cache hits are in nsctl_answer_cache_hit_duration_seconds).",
    ),
    "nsctl_answer_cache_hit_duration_seconds": (
        "histogram",
        (),
        "Time to answer an answer-cache hit (a run of pipelined hits is timed once and "
        "shared among them).",
    ),
    "nsctl_answer_cache_hits_total": ("counter", (), "Requests answered from the answer cache."),
    "nsctl_answer_cache_misses_total": (
        "counter",
        (),
        "Cacheable requests answered by dispatch (not in the cache, or the cache was off).",
    ),
    "nsctl_answer_cache_entries": ("gauge", (), "Answers held by the answer cache."),
    "nsctl_answer_cache_bytes": ("gauge", (), "Bytes of keys and answers the cache holds."),
    "nsctl_brokers": ("gauge", (), "Live brokers (registered, not expired or removed)."),
    "nsctl_clusters": ("gauge", (), "Clusters with at least one broker name."),
    "nsctl_topics": ("gauge", (), "Topics in the route table."),
    "nsctl_connections": ("gauge", (), "Open client and broker connections."),
    "nsctl_kv_keys": ("gauge", (), "Keys in the KV store, all namespaces."),
    "nsctl_broker_registrations_total": (
        "counter",
        (),
        "REGISTER_BROKER requests accepted (first registrations and renewals).",
    ),
    "nsctl_broker_expiries_total": ("counter", (), "Brokers dropped for a missed heartbeat."),
    "nsctl_broker_removals_total": (
        "counter",
        ("reason",),
        "Brokers removed: unregistered (UNREGISTER_BROKER) or connection_closed.",
    ),
    "nsctl_broker_write_refusals_total": (
        "counter",
        ("code",),
        "Broker-side writes refused by --broker-allow or --broker-require-cert.",
    ),
    "nsctl_connections_closed_total": (
        "counter",
        ("reason",),
        "Connections the server closed or refused: max_connections, idle, slow_frame, "
        "malformed_frame, buffer_bound.",
    ),
    "nsctl_offloaded_total": (
        "counter",
        ("kind",),
        "Work done in the worker thread instead of the event loop: registration (large bodies "
        "decoded and planned), topic_list (large lists ordered and encoded), kv_write (the "
        "KV file encoded and written) or broker_removal (the topic table built without a "
        "broker group of many topics).",
    ),
    "nsctl_offload_redone_total": (
        "counter",
        ("kind",),
        "Worker results found stale because the tables changed meanwhile, so done again: "
        "registration (planned again on the loop) or topic_list (made again).",
    ),
    "nsctl_received_bytes_total": ("counter", (), "Bytes received from peers."),
    "nsctl_sent_bytes_total": ("counter", (), "Bytes sent to peers."),
}


def _code_name(code: int) -> str:
    if code == OTHER:
        return "other"
    try:
        return RequestCode(code).name
    except ValueError:
        return str(code)


def _outcome_name(code: int) -> str:
    if code == NO_ANSWER:
        return "no_answer"
    try:
        return ResponseCode(code).name
    except ValueError:
        return str(code)


class NameServerCollector(Collector):
    """Reads a NameServer's counters at scrape time."""

    def __init__(self, server: NameServer) -> None:
        self.server = server

    def _family(self, name: str) -> Metric:
        kind, labels, doc = METRICS[name]
        if kind == "counter":
            return CounterMetricFamily(name, doc, labels=list(labels))
        if kind == "gauge":
            return GaugeMetricFamily(name, doc, labels=list(labels))
        return HistogramMetricFamily(name, doc, labels=list(labels))

    def collect(self) -> Iterator[Metric]:
        server = self.server
        stats = server.stats
        cache = server.answer_cache
        table = server.table

        requests: dict[tuple[int, int], int] = dict(stats.requests)
        hits = 0
        if cache is not None:
            keys = list(cache.slot_keys)
            counts = list(cache.slot_hits)
            for key, count in zip(keys, counts, strict=False):  # read while growing
                requests[key] = requests.get(key, 0) + count
                hits += count
        family = self._family("nsctl_requests_total")
        for (code, outcome), count in sorted(requests.items()):
            family.add_metric([_code_name(code), _outcome_name(outcome)], count)
        yield family

        family = self._family("nsctl_request_duration_seconds")
        for code, histogram in sorted(dict(stats.latency).items()):
            family.add_metric([_code_name(code)], *_histogram(histogram))
        yield family
        family = self._family("nsctl_answer_cache_hit_duration_seconds")
        family.add_metric([], *_histogram(stats.hit_latency))
        yield family

        yield self._value("nsctl_answer_cache_hits_total", hits)
        yield self._value("nsctl_answer_cache_misses_total", stats.cache_misses)
        yield self._value("nsctl_answer_cache_entries", len(cache) if cache is not None else 0)
        yield self._value("nsctl_answer_cache_bytes", cache.size_bytes if cache is not None else 0)
        yield self._value("nsctl_brokers", len(table.broker_live_table))
        yield self._value("nsctl_clusters", len(table.cluster_addr_table))
        yield self._value("nsctl_topics", len(table.topic_queue_table))
        yield self._value("nsctl_connections", len(server.connections))
        yield self._value("nsctl_kv_keys", server.kv.key_count())
        yield self._value("nsctl_broker_registrations_total", stats.broker_registrations)
        yield self._value("nsctl_broker_expiries_total", stats.broker_expiries)
        yield self._labelled("nsctl_broker_removals_total", dict(stats.broker_removals))
        refusals = {_code_name(c): n for c, n in dict(stats.broker_refusals).items()}
        yield self._labelled("nsctl_broker_write_refusals_total", refusals)
        yield self._labelled("nsctl_connections_closed_total", dict(stats.connections_closed))
        yield self._labelled("nsctl_offloaded_total", dict(stats.offloaded))
        redone = {"registration": table.stale_plans, "topic_list": stats.lists_redone}
        yield self._labelled("nsctl_offload_redone_total", redone)
        yield self._value("nsctl_received_bytes_total", stats.bytes_in)
        yield self._value("nsctl_sent_bytes_total", stats.bytes_out)

    def _value(self, name: str, value: float) -> Metric:
        family = self._family(name)
        family.add_metric([], value)
        return family

    def _labelled(self, name: str, values: dict[str, int]) -> Metric:
        family = self._family(name)
        for label, value in sorted(values.items()):
            family.add_metric([label], value)
        return family


def _histogram(histogram: Histogram) -> tuple[list[tuple[str, float]], float]:
    counts = list(histogram.counts)
    total_ns = histogram.sum_ns
    buckets = []
    running = 0
    for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return buckets, total_ns / 1e9


class MetricsEndpoint:
    """The /metrics HTTP server of one NameServer (prometheus-client's, in a daemon thread)."""

    def __init__(self, server: NameServer, host: str, port: int) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(NameServerCollector(server))
        ProcessCollector(registry=registry)
        # Binds here: an unusable address raises OSError before the server reports ready.
        self._httpd, self._thread = start_http_server(port, addr=host, registry=registry)
        self.host = host
        self.port = self._httpd.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
