"""Hedged reads: a silent first NameServer costs a hedge delay, not a timeout, and the managers
remember failures across calls (audit item 6)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from nsctl.client import NameServerConfig, NameServerManager
from nsctl.client.manager import AsyncNameServerManager
from nsctl.server import EmbeddedNameServer

TIMEOUT = 10.0  # per request: what a read would wait on the silent one without the hedge


@pytest.fixture
def silent() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield "127.0.0.1:%d" % server.getsockname()[1]


@pytest.fixture
def live(tmp_path) -> Iterator[str]:
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "kv.json") as ns:
        yield ns.address


def config(*addresses: str, hedge: float = 0.3) -> NameServerConfig:
    return NameServerConfig(
        list(addresses), timeout=TIMEOUT, connect_timeout=TIMEOUT, max_retry_times=1,
        hedge_delay=hedge,
    )  # fmt: skip


def test_a_silent_first_address_is_hedged_and_then_left_last(silent, live):
    with NameServerManager(config(silent, live)) as manager:
        started = time.monotonic()
        info = manager.invoke(lambda client: client.get_broker_cluster_info())
        first = time.monotonic() - started
        assert info.cluster_addr_table == {}
        assert silent in manager.get_cache_info()["failed_nameservers"]
        assert manager.get_cache_info()["current_nameserver"] == live
    # A correctness bound, not a speed target: without the hedge this waits TIMEOUT (10 s).
    assert first < TIMEOUT / 2, first


def test_without_a_hedge_the_silent_address_costs_its_timeout(silent, live):
    short = NameServerConfig([silent, live], timeout=0.5, connect_timeout=0.5,
                             max_retry_times=1, hedge_delay=0)  # fmt: skip
    with NameServerManager(short) as manager:
        started = time.monotonic()
        manager.invoke(lambda client: client.get_broker_cluster_info())
        assert time.monotonic() - started >= 0.5  # it waited for the silent one's timeout


def test_the_async_manager_hedges_too(silent, live):
    async def run() -> tuple[dict, dict]:
        async with AsyncNameServerManager(config(silent, live)) as manager:
            info = await manager.invoke(lambda client: client.get_broker_cluster_info())
            return info.cluster_addr_table, manager.get_cache_info()

    started = time.monotonic()
    table, cache = asyncio.run(run())
    assert table == {} and silent in cache["failed_nameservers"]
    assert time.monotonic() - started < TIMEOUT / 2


def test_a_broadcast_remembers_the_address_it_could_not_reach(live):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % probe.getsockname()[1]  # bound, not listening: refused
        with NameServerManager(config(dead, live)) as manager:
            results = manager.broadcast(lambda client: client.get_broker_cluster_info())
            assert isinstance(results[dead], Exception)
            assert dead in manager.get_cache_info()["failed_nameservers"]
