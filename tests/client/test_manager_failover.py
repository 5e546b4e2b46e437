"""Managers over several addresses: failover, stickiness, retry budget, no retry on answers."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from nsctl.client import (
    NameServerConfig,
    NameServerConnectionError,
    NameServerError,
    NameServerManager,
    NameServerResponseError,
    NameServerTimeoutError,
    TopicNotFoundError,
    create_async_nameserver_manager,
    create_nameserver_manager,
)
from nsctl.client.manager import FailoverPolicy
from nsctl.protocol.codes import ResponseCode
from nsctl.protocol.command import RemotingCommand
from tests.client import servers
from tests.client.servers import ScriptedServer

TIMEOUT = 0.3
INTERVAL = 0.1


def answering(code: int, remark: str) -> servers.Behaviour:
    def answer(request: RemotingCommand) -> RemotingCommand:
        return request.make_response(code=code, remark=remark)

    return servers.responder(answer)


def test_first_two_dead_the_third_answers_and_stays_sticky() -> None:
    refused = servers.closed_port_address()
    with ScriptedServer(servers.silent) as silent, ScriptedServer(servers.responder()) as good:
        manager = create_nameserver_manager(
            f"{refused};{silent.address};{good.address}",
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            retry_interval=INTERVAL,
        )
        with manager:
            assert manager.invoke(lambda c: c.get_kv_config("ns", "a")) == "ns/a"
            assert manager.invoke(lambda c: c.get_kv_config("ns", "b")) == "ns/b"
            info = manager.get_cache_info()
        assert silent.connections == 1  # the second call went straight to the good one
        assert info["current_nameserver"] == good.address
        assert set(info["failed_nameservers"]) == {refused, silent.address}
        assert info["connected_nameservers"] == [good.address]


@pytest.mark.parametrize("rounds", [1, 2])
def test_all_dead_fails_within_the_budget(rounds: int) -> None:
    refused = servers.closed_port_address()
    with ScriptedServer(servers.silent) as one, ScriptedServer(servers.silent) as two:
        addresses = [refused, one.address, two.address]
        manager = create_nameserver_manager(
            addresses,
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_retry_times=rounds,
            retry_interval=INTERVAL,
        )
        started = time.monotonic()
        with manager, pytest.raises((NameServerConnectionError, NameServerTimeoutError)) as caught:
            manager.invoke(lambda c: c.get_kv_config("ns", "k"))
        elapsed = time.monotonic() - started
    attempts = rounds * len(addresses)
    assert elapsed < (TIMEOUT + INTERVAL) * attempts + 2.0
    assert f"after {attempts} attempts" in str(caught.value)
    # Each round really went over the silent servers again.
    assert one.connections == rounds and two.connections == rounds


def test_an_answer_from_a_live_server_is_not_retried_elsewhere() -> None:
    not_found = answering(ResponseCode.TOPIC_NOT_EXIST, "No topic route info")
    with ScriptedServer(not_found) as first, ScriptedServer(servers.responder()) as second:
        with create_nameserver_manager([first.address, second.address]) as manager:
            with pytest.raises(TopicNotFoundError) as caught:
                manager.get_topic_route("Nope")
            assert manager.get_cache_info()["cached_routes"] == 0
        assert caught.value.code == 17 and caught.value.address == first.address
        assert second.connections == 0


def test_system_busy_moves_on_to_the_next_address() -> None:
    busy = answering(ResponseCode.SYSTEM_BUSY, "[OVERLOAD]system busy")
    with ScriptedServer(busy) as first, ScriptedServer(servers.responder()) as second:
        config = NameServerConfig([first.address, second.address], retry_interval=INTERVAL)
        with NameServerManager(config) as manager:
            assert manager.invoke(lambda c: c.get_kv_config("ns", "x")) == "ns/x"


def test_busy_everywhere_raises_the_server_answer() -> None:
    busy = answering(ResponseCode.SYSTEM_BUSY, "[OVERLOAD]system busy")
    with ScriptedServer(busy) as only:
        config = NameServerConfig(only.address, max_retry_times=2, retry_interval=INTERVAL)
        with NameServerManager(config) as manager, pytest.raises(NameServerResponseError) as caught:
            manager.invoke(lambda c: c.get_kv_config("ns", "x"))
    assert caught.value.code == ResponseCode.SYSTEM_BUSY


def test_broadcast_reaches_every_address_and_reports_each_outcome() -> None:
    refused = servers.closed_port_address()
    with ScriptedServer(servers.responder()) as one, ScriptedServer(servers.responder()) as two:
        addresses = [one.address, refused, two.address]
        with create_nameserver_manager(addresses, timeout=TIMEOUT) as manager:
            results = manager.broadcast(lambda c: c.get_kv_config("ns", "k"))
    assert list(results) == addresses
    assert results[one.address] == "ns/k" and results[two.address] == "ns/k"
    assert isinstance(results[refused], NameServerConnectionError)


def test_stopped_manager_refuses_new_connections_until_started() -> None:
    with ScriptedServer(servers.responder()) as server:
        manager = create_nameserver_manager(server.address)
        manager.stop()
        with pytest.raises(NameServerError, match="stopped"):
            manager.invoke(lambda c: c.get_kv_config("ns", "k"))
        manager.start()
        assert manager.invoke(lambda c: c.get_kv_config("ns", "k")) == "ns/k"
        manager.stop()


def test_failed_addresses_are_tried_last_until_their_quarantine_ends() -> None:
    policy = FailoverPolicy(["a:1", "b:1", "c:1"], max_rounds=1, retry_interval=0)
    policy.failed("a:1")
    assert policy.order() == ["b:1", "c:1", "a:1"]
    policy.succeeded("c:1")
    assert policy.order() == ["c:1", "b:1", "a:1"]
    policy.quarantine = 0.0
    policy.failed("a:1")  # a quarantine that is already over
    assert policy.order() == ["c:1", "a:1", "b:1"]  # back in ring order after the sticky one


def test_config_accepts_semicolons_commas_and_lists() -> None:
    assert NameServerConfig("a:1; b:2,c:3").addresses == ["a:1", "b:2", "c:3"]
    assert NameServerConfig(["a:1", "b:2"]).addresses == ["a:1", "b:2"]
    with pytest.raises(ValueError, match="nohost"):
        NameServerConfig("a:1;nohost")
    with pytest.raises(ValueError):
        NameServerConfig("a:1", max_retry_times=0)


def test_async_manager_fails_over_and_reports_budget() -> None:
    refused = servers.closed_port_address()

    async def run(addresses: list[str]) -> tuple[str, dict]:
        manager = create_async_nameserver_manager(
            addresses, timeout=TIMEOUT, connect_timeout=TIMEOUT, retry_interval=INTERVAL
        )
        async with manager:
            value = await manager.invoke(lambda c: c.get_kv_config("ns", "v"))
            everywhere = await manager.broadcast(lambda c: c.get_kv_config("ns", "w"))
        return value, everywhere

    with ScriptedServer(servers.silent) as silent, ScriptedServer(servers.responder()) as good:
        value, everywhere = asyncio.run(run([refused, silent.address, good.address]))
    assert value == "ns/v"
    assert everywhere[good.address] == "ns/w"
    assert isinstance(everywhere[silent.address], NameServerTimeoutError)
    assert isinstance(everywhere[refused], NameServerConnectionError)


def test_async_manager_all_dead_within_budget() -> None:
    async def run(addresses: list[str]) -> None:
        manager = create_async_nameserver_manager(
            addresses,
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_retry_times=2,
            retry_interval=INTERVAL,
        )
        async with manager:
            await manager.invoke(lambda c: c.get_kv_config("ns", "v"))

    with ScriptedServer(servers.silent) as silent:
        addresses = [servers.closed_port_address(), silent.address]
        started = time.monotonic()
        with pytest.raises((NameServerConnectionError, NameServerTimeoutError)):
            asyncio.run(run(addresses))
        assert time.monotonic() - started < (TIMEOUT + INTERVAL) * 4 + 2.0


@pytest.mark.parametrize("attempts", [1, 3])
def test_broadcast_gives_each_address_its_own_attempts(attempts: int) -> None:
    with ScriptedServer(servers.silent) as silent, ScriptedServer(servers.responder()) as good:
        config = NameServerConfig(
            [silent.address, good.address],
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_retry_times=attempts,
            retry_interval=INTERVAL,
        )
        with NameServerManager(config) as manager:
            results = manager.broadcast(lambda c: c.get_kv_config("ns", "k"))
        assert results[good.address] == "ns/k"
        assert isinstance(results[silent.address], NameServerTimeoutError)
        assert silent.connections == attempts
        assert good.connections == 1


def test_async_broadcast_gives_each_address_its_own_attempts() -> None:
    async def main() -> None:
        with ScriptedServer(servers.silent) as silent:
            manager = create_async_nameserver_manager(
                silent.address,
                timeout=TIMEOUT,
                connect_timeout=TIMEOUT,
                max_retry_times=3,
                retry_interval=INTERVAL,
            )
            async with manager:
                results = await manager.broadcast(lambda c: c.get_kv_config("ns", "k"))
            assert isinstance(results[silent.address], NameServerTimeoutError)
            assert silent.connections == 3

    asyncio.run(main())


def test_broadcast_does_not_retry_an_answer() -> None:
    asked: list[RemotingCommand] = []

    def missing(request: RemotingCommand) -> RemotingCommand:
        asked.append(request)
        return request.make_response(code=ResponseCode.QUERY_NOT_FOUND, remark="no such key")

    with ScriptedServer(servers.responder(missing)) as server:
        config = NameServerConfig(server.address, max_retry_times=3, retry_interval=INTERVAL)
        with NameServerManager(config) as manager:
            results = manager.broadcast(lambda c: c.get_kv_config("ns", "k"))
        assert isinstance(results[server.address], NameServerResponseError)
        assert len(asked) == 1


def test_stop_does_not_wait_for_a_request_in_flight() -> None:
    """An interrupted CLI closes its manager while a broadcast thread still waits for a silent
    server: closing must end that request at once, not after its timeout."""
    with ScriptedServer(servers.silent) as silent:
        manager = NameServerManager(NameServerConfig(silent.address, timeout=30.0))
        outcome: list[object] = []
        worker = threading.Thread(
            target=lambda: outcome.append(manager.broadcast(lambda c: c.get_kv_config("n", "k")))
        )
        worker.start()
        deadline = time.monotonic() + 10
        while silent.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        stopping = time.monotonic()
        manager.stop()  # returns although the request holds the connection
        worker.join(timeout=10)
        # A correctness bound, not a speed target: the request alone would wait 30 s.
        assert time.monotonic() - stopping < 15
        assert not worker.is_alive()
        (results,) = outcome
        assert isinstance(results[silent.address], NameServerError)
        assert silent.connections == 1  # the closed connection was not reopened


@pytest.mark.parametrize("how", ["invoke", "broadcast"])
def test_a_pending_interrupt_is_not_held_until_the_timeout(how: str) -> None:
    """Ctrl-C that lands just before a blocking wait begins does not interrupt the wait; it is
    handled when the wait returns. `interrupt_main` makes exactly that state (a pending
    KeyboardInterrupt, no signal to break the wait): the waits must be short slices, so that it
    is raised at once and not after the 30 s request timeout."""
    import _thread

    with ScriptedServer(servers.silent) as silent:
        manager = NameServerManager(NameServerConfig(silent.address, timeout=30.0))

        def interrupt_once_asked() -> None:
            deadline = time.monotonic() + 10
            while silent.connections == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # the caller is now inside its wait
            _thread.interrupt_main()

        helper = threading.Thread(target=interrupt_once_asked)
        helper.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            if how == "invoke":
                manager.invoke(lambda c: c.get_kv_config("n", "k"))
            else:
                manager.broadcast(lambda c: c.get_kv_config("n", "k"))
        # A correctness bound, not a speed target: the request alone would wait 30 s.
        assert time.monotonic() - started < 15
        helper.join()
        manager.stop()
