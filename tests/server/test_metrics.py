"""`nsctl serve --metrics-port`: a real process scraped over HTTP after real requests; every
counter moves by exactly what the requests did."""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from nsctl.cli.commands.serve import METRICS_HELP
from nsctl.protocol import frame
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import FrameDecoder
from nsctl.server.metrics import METRICS
from tests.server.wire import register_request, request

README = Path(__file__).resolve().parents[2] / "README.md"


class CountingClient:
    """Raw frames over one connection, counting the bytes each way."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.decoder = FrameDecoder()
        self.sent = 0
        self.received = 0

    def call(self, command: RemotingCommand) -> RemotingCommand:
        data = frame.encode(command)
        self.sock.sendall(data)
        self.sent += len(data)
        while True:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed"
            self.received += len(chunk)
            answers = self.decoder.feed(chunk)
            if answers:
                (answer,) = answers
                return answer

    def close(self) -> None:
        self.sock.close()


def metrics_url(process) -> str:
    match = re.search(r"metrics served at (http://\S+)", process.log_text())
    assert match, process.log_text()
    return match.group(1)


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def moved(before: dict, after: dict) -> dict:
    """The samples that changed, as differences (process_* left out: they move by themselves)."""
    out = {}
    for key in set(before) | set(after):
        if key[0].startswith("process_"):
            continue
        delta = after.get(key, 0.0) - before.get(key, 0.0)
        if delta:
            out[key] = delta
    return out


def req(code: str, outcome: str) -> tuple:
    return ("nsctl_requests_total", (("code", code), ("outcome", outcome)))


def plain(name: str) -> tuple:
    return (name, ())


def duration_count(code: str | None) -> tuple:
    if code is None:
        return ("nsctl_answer_cache_hit_duration_seconds_count", ())
    return ("nsctl_request_duration_seconds_count", (("code", code),))


def test_counters_move_exactly_with_real_requests(serve_process_factory):
    process = serve_process_factory("--metrics-port", "0")
    url = metrics_url(process)
    start = scrape(url)
    assert start[plain("nsctl_brokers")] == 0 and start[plain("nsctl_connections")] == 0
    assert start[plain("process_resident_memory_bytes")] > 0

    client = CountingClient(process.address)
    try:
        registration = register_request(topics={"TopicTest": 4, "TBW102": 8})
        assert client.call(registration).code == 0
        for _ in range(3):  # a miss, then two hits from the answer cache
            assert client.call(request(105, {"topic": "TopicTest"})).code == 0
        assert client.call(request(105, {"topic": "NoSuchTopic"})).code == 17
        kv = {"namespace": "ns", "key": "k", "value": "v"}
        assert client.call(request(100, kv)).code == 0
        after = scrape(url)
        changes = moved(start, after)
        # Histogram buckets and sums: checked by their counts below, then left out.
        timing = {k: v for k, v in changes.items() if k[0].endswith(("_bucket", "_sum"))}
        assert all(v > 0 for v in timing.values())
        rest = {k: v for k, v in changes.items() if k not in timing}
        assert rest == {
            req("REGISTER_BROKER", "SUCCESS"): 1,
            req("GET_ROUTEINFO_BY_TOPIC", "SUCCESS"): 3,
            req("GET_ROUTEINFO_BY_TOPIC", "TOPIC_NOT_EXIST"): 1,
            req("PUT_KV_CONFIG", "SUCCESS"): 1,
            duration_count("REGISTER_BROKER"): 1,
            duration_count("GET_ROUTEINFO_BY_TOPIC"): 2,  # the two misses
            duration_count("PUT_KV_CONFIG"): 1,
            duration_count(None): 2,  # the two hits
            plain("nsctl_answer_cache_hits_total"): 2,
            plain("nsctl_answer_cache_misses_total"): 2,
            # The KV put emptied the cache (a new state generation).
            plain("nsctl_broker_registrations_total"): 1,
            plain("nsctl_brokers"): 1,
            plain("nsctl_clusters"): 1,
            plain("nsctl_topics"): 2,
            plain("nsctl_kv_keys"): 1,
            plain("nsctl_connections"): 1,
            # The KV file is written by the worker thread (server.offload).
            ("nsctl_offloaded_total", (("kind", "kv_write"),)): 1,
            plain("nsctl_received_bytes_total"): client.sent,
            plain("nsctl_sent_bytes_total"): client.received,
        }

        # One more route query after the KV put: a miss (the cache was emptied), then a hit.
        sent, received = client.sent, client.received
        for _ in range(2):
            assert client.call(request(105, {"topic": "TopicTest"})).code == 0
        later = moved(after, scrape(url))
        later = {k: v for k, v in later.items() if not k[0].endswith(("_bucket", "_sum"))}
        assert later == {
            req("GET_ROUTEINFO_BY_TOPIC", "SUCCESS"): 2,
            duration_count("GET_ROUTEINFO_BY_TOPIC"): 1,
            duration_count(None): 1,
            plain("nsctl_answer_cache_hits_total"): 1,
            plain("nsctl_answer_cache_misses_total"): 1,
            plain("nsctl_answer_cache_entries"): 1,
            plain("nsctl_answer_cache_bytes"): later[plain("nsctl_answer_cache_bytes")],
            plain("nsctl_received_bytes_total"): client.sent - sent,
            plain("nsctl_sent_bytes_total"): client.received - received,
        }
        assert later[plain("nsctl_answer_cache_bytes")] > 0
    finally:
        client.close()


def test_openmetrics_when_asked_and_unregistration_counted(serve_process_factory):
    process = serve_process_factory("--metrics-port", "0", "--no-answer-cache")
    url = metrics_url(process)
    client = CountingClient(process.address)
    try:
        assert client.call(register_request()).code == 0
        ext = {"brokerName": "broker-a", "brokerAddr": "127.0.0.1:10911"}
        ext["clusterName"] = "DefaultCluster"
        before = scrape(url)
        assert client.call(request(104, ext)).code == 0
        assert client.call(request(105, {"topic": "TopicTest"})).code == 17
        changes = moved(before, scrape(url))
    finally:
        client.close()
    assert changes[("nsctl_broker_removals_total", (("reason", "unregistered"),))] == 1
    assert changes[plain("nsctl_brokers")] == -1
    assert changes[plain("nsctl_answer_cache_misses_total")] == 1  # the cache is off
    assert plain("nsctl_answer_cache_hits_total") not in changes
    wanted = urllib.request.Request(
        url, headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    with urllib.request.urlopen(wanted, timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
        text = answer.read().decode()
    assert text.endswith("# EOF\n")
    names = {family.name for family in parse_om(text)}
    assert "nsctl_requests" in names and "process_cpu_seconds" in names


def test_every_metric_is_documented_with_type_and_labels():
    readme = README.read_text()
    for name, (kind, labels, _) in METRICS.items():
        assert f"{name} {kind}" in METRICS_HELP, name
        row = next((line for line in readme.splitlines() if f"`{name}`" in line), None)
        assert row is not None, f"README does not list {name}"
        assert kind in row, name
        for label in labels:
            assert f"`{label}`" in row, (name, label)
