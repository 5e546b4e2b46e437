"""1,000 connections querying GET_ROUTEINFO_BY_TOPIC while 100 brokers register and keep
re-registering against one `nsctl serve`; zero failed requests. Default: 20 s of load.

    NSCTL_LOAD_CLIENTS=2000 NSCTL_LOAD_BROKERS=200 NSCTL_LOAD_SECONDS=120 \
        .venv/bin/python -m pytest tests/stress/test_load.py -p no:cacheprovider
"""

from __future__ import annotations

import asyncio

import pytest

from tests.robustness import report
from tests.robustness.loadgen import raise_fd_limit, run_load
from tests.stress.conftest import env_number
from tests.stress.rss import rss_kib

CLIENTS = int(env_number("NSCTL_LOAD_CLIENTS", 1000))
BROKERS = int(env_number("NSCTL_LOAD_BROKERS", 100))
SECONDS = env_number("NSCTL_LOAD_SECONDS", 20)
MAX_REQUESTS = 5_000_000


def test_thousand_clients_while_hundred_brokers_reregister(serve_process_factory):
    # Both processes hold one socket per connection, plus files, pipes and the interpreter's.
    needed = CLIENTS + BROKERS + 200
    soft = raise_fd_limit(needed)  # before starting the server, which inherits it
    if soft < needed:
        pytest.skip(f"RLIMIT_NOFILE soft limit {soft} < {needed} needed (raise `ulimit -n`)")
    server = serve_process_factory("--log-level", "WARNING")
    result = asyncio.run(
        run_load(
            server.address,
            clients=CLIENTS,
            brokers=BROKERS,
            seconds=SECONDS,
            max_requests=MAX_REQUESTS,
            heartbeat_interval=1.0,
        )
    )
    assert not result.failures, result.failures[:10]
    assert server.process.poll() is None
    report.record(
        f"load ({CLIENTS} clients, {BROKERS} brokers, {SECONDS:g} s)",
        requests=result.requests,
        failed=len(result.failures),
        registrations=result.registrations,
        per_second=round(result.throughput),
        p50_ms=result.percentile(50),
        p99_ms=result.percentile(99),
        server_rss_mib=rss_kib(server.process.pid) / 1024,
    )
