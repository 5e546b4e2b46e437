"""Credentials on the wire: every request the clients send is signed, and a refusal is typed.

A real loopback server records each frame exactly as it arrived; a frame is signed when its
Signature is the one the signer gives for the rest of it (the signer itself is checked against
captured Java frames in tests/protocol/test_acl_signing.py). Refusals are the captured answers
of a 5.3.3 broker with ACL (frames-acl-5.3.3 002, 003, 006), served from a socket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import threading
import time

import pytest

from nsctl.client import (
    AsyncNameServerClient,
    AsyncNameServerManager,
    Credentials,
    NameServerClient,
    NameServerConfig,
    NameServerManager,
    NameServerResponseError,
    PermissionDeniedError,
)
from nsctl.client.broker import BrokerAgent
from nsctl.client.broker_client import AsyncBrokerClient, BrokerClient
from nsctl.client.broker_fanout import query_brokers
from nsctl.protocol.acl import sign
from nsctl.protocol.codes import RequestCode, SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode, encode
from tests.client.servers import ScriptedServer
from tests.protocol.fixtures import DATA

ACL = DATA / "frames-acl-5.3.3"
CREDENTIALS = Credentials("rocketmq2", "12345678")


def captured(name: str) -> RemotingCommand:
    return decode((ACL / name).read_bytes())


RUNTIME_INFO = captured("004_signed_brokerStatus_response.bin")


def answer_success(request: RemotingCommand) -> RemotingCommand:
    """What a happy broker or NameServer says: the runtime table for 28, else SUCCESS (with the
    value a GET_KV_CONFIG asks for)."""
    if request.code == RequestCode.GET_BROKER_RUNTIME_INFO:
        return dataclasses.replace(RUNTIME_INFO, opaque=request.opaque)
    ext = {"value": "v"} if request.code == RequestCode.GET_KV_CONFIG else {}
    return request.make_response(ext_fields=ext)


class Recorder:
    """Records every frame as received (bytes) and answers it with `answer(request)`."""

    def __init__(self, answer=answer_success) -> None:
        self.answer = answer
        self.frames: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, conn) -> None:
        buffer = b""
        while data := conn.recv(65536):
            buffer += data
            while len(buffer) >= 4:
                size = struct.unpack_from(">i", buffer)[0] + 4
                if len(buffer) < size:
                    break
                raw, buffer = buffer[:size], buffer[size:]
                with self._lock:
                    self.frames.append(raw)
                request = decode(raw)
                if not request.is_oneway:
                    conn.sendall(encode(self.answer(request)))

    @property
    def requests(self) -> list[RemotingCommand]:
        with self._lock:
            return [decode(raw) for raw in self.frames]


@pytest.fixture
def recorder():
    behaviour = Recorder()
    with ScriptedServer(behaviour) as server:
        behaviour.address = server.address
        yield behaviour


def assert_signed(request: RemotingCommand, credentials: Credentials = CREDENTIALS) -> None:
    ext = request.ext_fields
    assert ext["AccessKey"] == credentials.access_key
    unsigned = {k: v for k, v in ext.items() if k not in ("AccessKey", "Signature")}
    expected = sign(unsigned, request.body, credentials, request.serialize_type)
    assert ext["Signature"] == expected["Signature"], RequestCode(request.code).name


def test_sync_client_signs_every_request_and_one_way_message(recorder):
    with NameServerClient(recorder.address, credentials=CREDENTIALS) as client:
        client.put_kv_config("app", "keep", "")
        assert client.get_kv_config("app", "keep") == "v"
        client.broker_heartbeat(cluster_name="C", broker_name="b", broker_addr="127.0.0.1:1")
        # A one-way message is only written: wait (bounded) until the server has it.
        deadline = time.monotonic() + 5
        while len(recorder.frames) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    codes = [r.code for r in recorder.requests]
    assert codes == [100, 101, 904]
    for request in recorder.requests:
        assert_signed(request)
    assert recorder.requests[2].is_oneway


def test_sync_rocketmq_request_with_an_empty_value_is_signed_as_the_broker_checks(recorder):
    with NameServerClient(
        recorder.address, credentials=CREDENTIALS, serialize_type=SerializeType.ROCKETMQ
    ) as client:
        client.put_kv_config("app", "keep", "")
    (raw,) = recorder.frames
    assert b"\x00\x05value\x00\x00\x00\x00" in raw  # the empty value travels, length 0
    (request,) = recorder.requests
    assert request.serialize_type == SerializeType.ROCKETMQ
    assert_signed(request)  # with `null` in the empty value's place


def test_without_credentials_nothing_is_added(recorder):
    with NameServerClient(recorder.address) as client:
        client.put_kv_config("app", "k", "v")
    (request,) = recorder.requests
    assert request.ext_fields == {"namespace": "app", "key": "k", "value": "v"}


def test_async_client_signs_every_request_and_one_way_message(recorder):
    async def run() -> None:
        async with AsyncNameServerClient(recorder.address, credentials=CREDENTIALS) as client:
            await asyncio.gather(
                client.put_kv_config("app", "a", "1"), client.get_kv_config("app", "a")
            )
            await client.broker_heartbeat(
                cluster_name="C", broker_name="b", broker_addr="127.0.0.1:1"
            )
            # A one-way message is only written: wait until the server has it.
            for _ in range(200):
                if len(recorder.frames) == 3:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(run())
    assert sorted(r.code for r in recorder.requests) == [100, 101, 904]
    for request in recorder.requests:
        assert_signed(request)


def test_managers_sign_invoke_and_broadcast(recorder):
    config = NameServerConfig(recorder.address, credentials=CREDENTIALS)
    assert "12345678" not in repr(config)
    with NameServerManager(config) as manager:
        manager.invoke(lambda client: client.get_kv_config("app", "a"))
        manager.broadcast(lambda client: client.put_kv_config("app", "a", "1"))

    async def run() -> None:
        async with AsyncNameServerManager(config) as manager:
            await manager.invoke(lambda client: client.get_kv_config("app", "a"))

    asyncio.run(run())
    assert [r.code for r in recorder.requests] == [101, 100, 101]
    for request in recorder.requests:
        assert_signed(request)


def test_broker_clients_and_fanout_sign_broker_queries(recorder):
    with BrokerClient(recorder.address, credentials=CREDENTIALS) as client:
        assert client.get_broker_runtime_info().version == "V5_3_3"

    async def run() -> None:
        async with AsyncBrokerClient(recorder.address, credentials=CREDENTIALS) as client:
            await client.get_broker_runtime_info()
        answers = await query_brokers(
            [recorder.address],
            lambda client: client.get_broker_runtime_info(),
            credentials=CREDENTIALS,
        )
        assert answers[recorder.address].reachable

    asyncio.run(run())
    assert [r.code for r in recorder.requests] == [28, 28, 28]
    for request in recorder.requests:
        # Java sends this query without ext fields; signed, it carries exactly the two.
        assert request.ext_fields.keys() == {"AccessKey", "Signature"}
        assert_signed(request)


def test_broker_agent_signs_register_and_unregister(recorder):
    async def run() -> None:
        agent = BrokerAgent(
            [recorder.address],
            cluster_name="C",
            broker_name="b",
            broker_addr="127.0.0.1:10911",
            credentials=CREDENTIALS,
        )
        async with agent:
            outcomes = await agent.register_once()
            assert not isinstance(outcomes[recorder.address], Exception)
            assert await agent.unregister() == {recorder.address: None}

    asyncio.run(run())
    register, unregister = recorder.requests
    assert (register.code, unregister.code) == (103, 104)
    assert register.body  # the body is covered by the signature
    for request in recorder.requests:
        assert_signed(request)


# --- refusals ----------------------------------------------------------------------------------


def refusing(name: str):
    """Answer every request with the captured refusal `name` (its opaque made the request's)."""
    refusal = captured(name)
    return lambda request: dataclasses.replace(refusal, opaque=request.opaque)


REFUSALS = [
    (
        "002_unsigned_updateTopic_response.bin",
        None,
        "username cannot be null. [{address}] (sent unsigned: no access key configured)",
    ),
    (
        "003_wrongsecret_updateTopic_response.bin",
        Credentials("rocketmq2", "wrongsecret"),
        "check signature failed. [{address}] (signed with access key 'rocketmq2')",
    ),
    (
        "006_unknownuser_updateTopic_response.bin",
        Credentials("nosuchuser", "12345678"),
        "User:nosuchuser is not found. [{address}] (signed with access key 'nosuchuser')",
    ),
]


@pytest.mark.parametrize(("name", "credentials", "ending"), REFUSALS, ids=lambda v: str(v)[:3])
def test_refusal_is_a_permission_denied_error_naming_the_key(name, credentials, ending):
    with ScriptedServer(Recorder(refusing(name))) as server:
        address = server.address
        client = BrokerClient(address, credentials=credentials)
        with client, pytest.raises(PermissionDeniedError) as sync_refusal:
            client.get_broker_runtime_info()

        async def run() -> PermissionDeniedError:
            async with AsyncBrokerClient(address, credentials=credentials) as client:
                with pytest.raises(PermissionDeniedError) as refusal:
                    await client.get_broker_runtime_info()
            return refusal.value

        async_refusal = asyncio.run(run())
        config = NameServerConfig(address, credentials=credentials, max_retry_times=1)
        manager = NameServerManager(config)
        with manager, pytest.raises(PermissionDeniedError) as manager_refusal:
            manager.invoke(lambda client: client.get_kv_config("app", "k"))

    key = credentials.access_key if credentials else None
    for error in (sync_refusal.value, async_refusal, manager_refusal.value):
        assert isinstance(error, NameServerResponseError) and error.code == 16
        assert error.access_key == key and error.signed is (key is not None)
        text = str(error)
        assert "\n" not in text
        assert "failed with NO_PERMISSION (16): " in text
        assert text.endswith(ending.format(address=address))
    assert str(sync_refusal.value).startswith("GET_BROKER_RUNTIME_INFO failed with")
    assert str(manager_refusal.value).startswith("GET_KV_CONFIG failed with")
