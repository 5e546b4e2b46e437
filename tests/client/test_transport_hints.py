"""The transports' errors say what the peer probably is: a TLS-only server met in plaintext,
or something that is not a NameServer at all (an HTTP port)."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import sys

import pytest

from nsctl.client import (
    AsyncNameServerClient,
    NameServerClient,
    NameServerConnectionError,
    NameServerProtocolError,
)
from nsctl.client.hints import (
    NOT_NAMESERVER_HINT,
    TLS_HINT,
    closed_before_answer,
    invalid_frame,
)
from nsctl.server import EmbeddedNameServer
from nsctl.server.config import TLSSettings
from tests.client import servers
from tests.client.servers import ScriptedServer
from tests.tls_certs import Certificates, make_certificates

TIMEOUT = 2.0


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


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_only(tmp_path, certs):
    settings = TLSSettings(str(certs.server_cert), str(certs.server_key), "enforcing")
    with EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", tls=settings) as server:
        yield server


@CLIENTS
def test_plaintext_client_of_a_tls_only_server_is_told_to_try_tls(call, tls_only) -> None:
    with pytest.raises(NameServerConnectionError) as caught:
        call(tls_only.address)
    message = str(caught.value)
    assert message.endswith(TLS_HINT), message
    assert "before answering" in message


def test_the_hints_are_for_plaintext_connections_and_text_answers_only() -> None:
    assert closed_before_answer("h:1", reset=True, tls=True) == (
        "h:1 reset the connection before answering"
    )
    assert (
        invalid_frame("h:1", "bad", b"\x00\x00\x10\x00", tls=False)
        == "h:1 sent an invalid frame: bad"
    )
    tls_record = bytes([0x15, 0x03, 0x03, 0x00])
    assert TLS_HINT not in invalid_frame("h:1", "bad", tls_record, tls=True)


def reset_without_answer(conn: socket.socket) -> None:
    """Read the request, then reset the connection (SO_LINGER 0), as a TLS-only peer may."""
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@CLIENTS
def test_a_reset_before_any_answer_carries_the_tls_hint(call) -> None:
    server = ScriptedServer(reset_without_answer)
    with server, pytest.raises(NameServerConnectionError) as caught:
        call(server.address)
    assert str(caught.value).endswith(TLS_HINT), str(caught.value)


def tls_alert(conn: socket.socket) -> None:
    """Answer plaintext with a TLS alert record (what some TLS servers do)."""
    conn.recv(65536)
    conn.sendall(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))
    conn.recv(65536)


@CLIENTS
def test_a_tls_record_in_answer_carries_the_tls_hint(call) -> None:
    server = ScriptedServer(tls_alert)
    with server, pytest.raises(NameServerProtocolError) as caught:
        call(server.address)
    assert str(caught.value).endswith(TLS_HINT), str(caught.value)


@CLIENTS
def test_an_http_answer_is_not_a_nameserver(call) -> None:
    server = ScriptedServer(servers.garbage)
    with server, pytest.raises(NameServerProtocolError) as caught:
        call(server.address)
    message = str(caught.value)
    assert message.endswith(NOT_NAMESERVER_HINT), message
    assert "'HTTP/1.1 400 Bad Request'" in message


def test_cli_against_a_tls_only_server_names_the_hint(tls_only) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NAMESRV_ADDR"}
    done = subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", "clusterList", "-n", tls_only.address,
         "--retries", "1"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.strip().endswith(TLS_HINT), done.stderr
