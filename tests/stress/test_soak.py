"""Soak: brokers joining, expiring, leaving and re-registering, route queries and KV writes in
a loop against one `nsctl serve --broker-expire 2 --scan-interval 0.5`, with the server's
resident memory sampled after warm-up and at the end. Default: 150 s.

    NSCTL_SOAK_SECONDS=3600 .venv/bin/python -m pytest tests/stress/test_soak.py \
        -p no:cacheprovider -s
"""

from __future__ import annotations

import time
from collections import deque

from nsctl.protocol import dialect
from nsctl.protocol.register import DataVersion
from tests.robustness import report
from tests.server.wire import WireClient, register_request, request
from tests.stress.conftest import env_number
from tests.stress.rss import rss_kib

SECONDS = env_number("NSCTL_SOAK_SECONDS", 150)
WARM_UP = max(10.0, SECONDS * 0.2)
EXPIRE, SCAN = 2.0, 0.5
EXPIRY_DEADLINE = 15.0  # generous: a silent broker must be gone this long after registering
STABLE = 5
TOPIC = "SoakTopic"
MAX_CYCLES = 1_000_000


def registration(name: str, counter: int, index: int):
    return register_request(
        broker_name=name,
        broker_addr=f"127.0.2.{index % 250 + 1}:{10000 + index % 5000}",
        cluster="SoakCluster",
        topics={TOPIC: 4, f"{name}-own": 2},
        version=DataVersion(counter, counter, 0),
    )


def test_soak_memory_stays_flat(serve_process_factory):
    server = serve_process_factory(
        *("--broker-expire", str(EXPIRE), "--scan-interval", str(SCAN), "--log-level", "ERROR")
    )
    address, pid = server.address, server.process.pid
    admin = WireClient(address, timeout=10)
    stable = [WireClient(address, timeout=10) for _ in range(STABLE)]
    silent: deque[tuple[float, str, WireClient]] = deque()
    leaving: deque[WireClient] = deque()
    counts = dict.fromkeys(("cycles", "joined", "expired", "left", "reregistered", "routes"), 0)
    counts["kv_writes"] = 0
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    next_sample = started + WARM_UP
    rss_start = None
    try:
        for cycle in range(MAX_CYCLES):
            now = time.monotonic()
            if now - started > SECONDS:
                break
            counts["cycles"] += 1
            for i, client in enumerate(stable):  # heartbeats; a new DataVersion now and then
                response = client.call(registration(f"stable-{i}", cycle // 10 + 1, i))
                assert response.code == 0, response.remark
                counts["reregistered"] += 1
            # A broker joins on its own connection; even ones go silent and must expire,
            # odd ones leave by closing their connection a few cycles later.
            joiner = WireClient(address, timeout=10)
            name = f"transient-{cycle}"
            assert joiner.call(registration(name, 1, STABLE + cycle)).code == 0
            counts["joined"] += 1
            if cycle % 2 == 0:
                silent.append((now, name, joiner))
            else:
                leaving.append(joiner)
            while len(leaving) > 3:
                leaving.popleft().close_and_wait()
                counts["left"] += 1
            while silent and now - silent[0][0] > EXPIRE + SCAN:
                registered, name, client = silent[0]
                client.sock.settimeout(0.01)
                if client.closed_by_server():  # the expiry scan closed the connection
                    client.close()
                    silent.popleft()
                    counts["expired"] += 1
                    continue
                assert now - registered < EXPIRY_DEADLINE, f"{name} did not expire"
                break
            for _ in range(10):
                response = admin.call(request(105, {"topic": TOPIC}))
                assert response.code == 0, response.remark
                counts["routes"] += 1
            brokers = {b["brokerName"] for b in dialect.loads(response.body)["brokerDatas"]}
            assert {f"stable-{i}" for i in range(STABLE)} <= brokers
            ext = {"namespace": "soak", "key": f"k{cycle % 100}", "value": f"v{cycle}"}
            assert admin.call(request(100, ext)).code == 0
            if cycle % 7 == 0:
                ext = {"namespace": "soak", "key": f"k{(cycle + 50) % 100}"}
                assert admin.call(request(102, ext)).code == 0
            counts["kv_writes"] += 1
            if now >= next_sample:
                rss = rss_kib(pid)
                rss_start = rss if rss_start is None else rss_start
                samples.append((round(now - started), rss))
                print(f"soak t={now - started:6.1f}s rss={rss / 1024:.1f} MiB {counts}")
                next_sample = now + max(5.0, SECONDS / 20)
            time.sleep(0.05)  # a loop, not a flood: the soak is about time and churn
    finally:
        for _, _, client in silent:
            client.close()
        for client in [*leaving, *stable, admin]:
            client.close()
    assert server.process.poll() is None
    rss_end = rss_kib(pid)
    samples.append((round(time.monotonic() - started), rss_end))
    assert rss_start is not None, "the soak ended before its warm-up"
    allowed = max(rss_start * 1.10, rss_start + 5 * 1024)
    report.record(
        f"soak ({SECONDS:g} s)",
        rss_start_mib=rss_start / 1024,
        rss_end_mib=rss_end / 1024,
        samples_mib=" ".join(f"{t}s:{kib / 1024:.1f}" for t, kib in samples),
        **counts,
    )
    assert rss_end <= allowed, f"RSS grew from {rss_start} KiB to {rss_end} KiB: {samples}"
    assert counts["expired"] > 0 and counts["left"] > 0
