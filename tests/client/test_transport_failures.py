"""Sync and asyncio clients against misbehaving servers: every failure is typed, none hangs."""

from __future__ import annotations

import asyncio
import time

import pytest

from nsctl.client import (
    AsyncNameServerClient,
    NameServerClient,
    NameServerConnectionError,
    NameServerProtocolError,
    NameServerTimeoutError,
)
from nsctl.protocol.codes import RequestCode, SerializeType
from nsctl.protocol.command import RemotingCommand
from tests.client import servers
from tests.client.servers import ScriptedServer

TIMEOUT = 0.4


def sync_get(address: str, **options) -> str:
    with NameServerClient(address, timeout=TIMEOUT, connect_timeout=TIMEOUT, **options) as client:
        return client.get_kv_config("ns", "k")


def async_get(address: str, **options) -> str:
    async def run() -> str:
        async with AsyncNameServerClient(
            address, timeout=TIMEOUT, connect_timeout=TIMEOUT, **options
        ) as client:
            return await client.get_kv_config("ns", "k")

    return asyncio.run(run())


CLIENTS = pytest.mark.parametrize("call", [sync_get, async_get], ids=["sync", "async"])


@CLIENTS
def test_refused_connection_is_a_connection_error(call) -> None:
    address = servers.closed_port_address()
    with pytest.raises(NameServerConnectionError) as caught:
        call(address)
    assert caught.value.address == address


@CLIENTS
def test_silent_server_times_out_within_the_timeout(call) -> None:
    with ScriptedServer(servers.silent) as server:
        started = time.monotonic()
        with pytest.raises(NameServerTimeoutError):
            call(server.address)
        assert time.monotonic() - started < TIMEOUT + 2.0


@CLIENTS
def test_close_in_the_middle_of_a_frame(call) -> None:
    server = ScriptedServer(servers.close_mid_frame)
    with server, pytest.raises(NameServerConnectionError, match="middle of a frame"):
        call(server.address)


@CLIENTS
def test_half_a_frame_then_silence_times_out(call) -> None:
    server = ScriptedServer(servers.half_frame_then_silence)
    with server, pytest.raises(NameServerTimeoutError):
        call(server.address)


@CLIENTS
def test_garbage_is_a_protocol_error(call) -> None:
    server = ScriptedServer(servers.garbage)
    with server, pytest.raises(NameServerProtocolError):
        call(server.address)


@CLIENTS
@pytest.mark.parametrize("answer_type", list(SerializeType))
@pytest.mark.parametrize("request_type", list(SerializeType))
def test_both_serializations_both_ways(call, request_type, answer_type) -> None:
    seen: list[SerializeType] = []

    def answer(request: RemotingCommand) -> RemotingCommand:
        seen.append(request.serialize_type)
        return servers.echo_kv(request)

    behaviour = servers.responder(answer, serialize_type=answer_type)
    with ScriptedServer(behaviour) as server:
        assert call(server.address, serialize_type=request_type) == "ns/k"
    assert seen == [request_type]


def test_sync_client_reconnects_after_the_server_closed_the_idle_connection() -> None:
    with ScriptedServer(servers.answer_once_then_close) as server:
        with NameServerClient(server.address, timeout=TIMEOUT) as client:
            assert client.get_kv_config("ns", "a") == "ns/a"
            time.sleep(0.1)  # the server has closed its side by now
            assert client.get_kv_config("ns", "b") == "ns/b"
            assert client.get_kv_config("ns", "c") == "ns/c"
        assert server.connections == 3


def test_async_client_reconnects_after_the_server_closed_the_idle_connection() -> None:
    async def run() -> None:
        async with AsyncNameServerClient(server.address, timeout=TIMEOUT) as client:
            assert await client.get_kv_config("ns", "a") == "ns/a"
            await asyncio.sleep(0.1)
            assert await client.get_kv_config("ns", "b") == "ns/b"

    with ScriptedServer(servers.answer_once_then_close) as server:
        asyncio.run(run())
        assert server.connections == 2


def test_sync_late_answer_never_reaches_the_next_call() -> None:
    server = ScriptedServer(servers.slow_first(TIMEOUT * 2))
    with server, NameServerClient(server.address, timeout=TIMEOUT) as client:
        with pytest.raises(NameServerTimeoutError):
            client.get_kv_config("ns", "first")
        assert not client.connected  # closed after the timeout, as Java does
        assert client.get_kv_config("ns", "second") == "ns/second"


def test_async_late_answer_never_reaches_the_next_call() -> None:
    async def run() -> None:
        async with AsyncNameServerClient(server.address, timeout=TIMEOUT) as client:
            with pytest.raises(NameServerTimeoutError):
                await client.get_kv_config("ns", "first")
            assert not client.connected
            assert await client.get_kv_config("ns", "second") == "ns/second"

    with ScriptedServer(servers.slow_first(TIMEOUT * 2)) as server:
        asyncio.run(run())


def test_async_matches_out_of_order_answers_by_opaque() -> None:
    batch = 64

    async def run() -> list[str]:
        async with AsyncNameServerClient(server.address, timeout=5.0) as client:
            calls = [client.get_kv_config("ns", f"k{i}") for i in range(batch)]
            return await asyncio.gather(*calls)

    with ScriptedServer(servers.out_of_order(batch)) as server:
        assert asyncio.run(run()) == [f"ns/k{i}" for i in range(batch)]
        assert server.connections == 1


def test_async_timeout_fails_the_other_requests_of_the_closed_connection() -> None:
    async def run() -> list[object]:
        async with AsyncNameServerClient(server.address, timeout=TIMEOUT) as client:
            calls = [client.get_kv_config("ns", str(i)) for i in range(5)]
            return await asyncio.gather(*calls, return_exceptions=True)

    with ScriptedServer(servers.silent) as server:
        started = time.monotonic()
        outcomes = asyncio.run(run())
        assert time.monotonic() - started < TIMEOUT + 2.0
    assert all(isinstance(o, (NameServerTimeoutError, NameServerConnectionError)) for o in outcomes)
    assert any(isinstance(o, NameServerTimeoutError) for o in outcomes)


def test_low_level_request_returns_error_responses_untouched() -> None:
    def answer(request: RemotingCommand) -> RemotingCommand:
        return request.make_response(code=3, remark=" request type 9999 not supported")

    server = ScriptedServer(servers.responder(answer))
    with server, NameServerClient(server.address, timeout=TIMEOUT) as client:
        command = RemotingCommand(code=9999)
        response = client.request(command)
        assert response.code == 3
        assert response.remark == " request type 9999 not supported"
        assert command.opaque == 0  # the caller's command is not mutated


def test_oneway_sends_and_returns_without_an_answer() -> None:
    received: list[RemotingCommand] = []

    def answer(request: RemotingCommand) -> None:
        received.append(request)

    with ScriptedServer(servers.responder(answer)) as server:
        with NameServerClient(server.address, timeout=TIMEOUT) as client:
            client.broker_heartbeat(cluster_name="c", broker_name="b", broker_addr="h:1")
            client.oneway(RemotingCommand(code=int(RequestCode.BROKER_HEARTBEAT)))
        deadline = time.monotonic() + 2
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [r.is_oneway for r in received] == [True, True]
    assert received[0].ext_fields == {
        "clusterName": "c",
        "brokerName": "b",
        "brokerAddr": "h:1",
        "brokerId": "0",
    }
