"""CI-sized load: 50 route-query connections while 10 brokers register and re-register against
one `nsctl serve`; no request may fail. The full-size run is tests/stress/test_load.py."""

from __future__ import annotations

import asyncio

from tests.robustness import report
from tests.robustness.loadgen import run_load


def test_route_queries_while_brokers_reregister(serve_process):
    result = asyncio.run(
        run_load(
            serve_process.address,
            clients=50,
            brokers=10,
            seconds=3.0,
            max_requests=50_000,
            heartbeat_interval=0.2,
        )
    )
    assert not result.failures, result.failures[:10]
    assert result.requests > 0 and result.registrations > 0
    assert serve_process.process.poll() is None
    report.record(
        "load smoke (50 clients, 10 brokers)",
        requests=result.requests,
        failed=len(result.failures),
        registrations=result.registrations,
        per_second=round(result.throughput),
        p50_ms=result.percentile(50),
        p99_ms=result.percentile(99),
    )
