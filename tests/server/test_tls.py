"""TLS like the Java remoting layer: one port, the first byte decides; permissive and enforcing
modes; client verification with a CA, without one, and deliberately not at all."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import pytest

from nsctl.client import (
    NameServerClient,
    NameServerConfig,
    NameServerConnectionError,
    NameServerManager,
)
from nsctl.client.client import AsyncNameServerClient
from nsctl.client.tls import client_context
from nsctl.server import EmbeddedNameServer
from nsctl.server.config import TLSSettings
from tests.server.wire import WireClient, request
from tests.tls_certs import Certificates, make_certificates

NSCTL = [sys.executable, "-m", "nsctl.cli.main"]


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def tls_server(tmp_path, certs: Certificates, mode: str = "permissive", **kwargs):
    settings = TLSSettings(str(certs.server_cert), str(certs.server_key), mode)
    return EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", tls=settings, **kwargs)


def test_tls_and_plaintext_clients_share_a_permissive_port(tmp_path, certs):
    with tls_server(tmp_path, certs) as ns:
        with NameServerClient(ns.address, ssl_context=client_context(ca_file=certs.ca)) as tls:
            tls.put_kv_config("ns", "k", "over-tls")
            with NameServerClient(ns.address) as plain:
                assert plain.get_kv_config("ns", "k") == "over-tls"
                plain.put_kv_config("ns", "k", "plaintext")
            assert tls.get_kv_config("ns", "k") == "plaintext"
            # Several calls reuse the one TLS connection (the idle check must not mistake
            # post-handshake TLS records for a closed connection).
            for _ in range(3):
                tls.get_broker_cluster_info()
            assert len(ns.server.connections) == 1
        with WireClient(ns.address) as raw:  # raw frames, byte for byte, still work
            assert raw.call(request(106)).code == 0


def test_async_client_and_manager_over_tls(tmp_path, certs):
    with tls_server(tmp_path, certs) as ns:
        manager = NameServerManager(NameServerConfig(ns.address, tls_ca=str(certs.ca))).start()
        try:
            manager.broadcast(lambda client: client.put_kv_config("ns", "k", "v"))
        finally:
            manager.stop()

        async def read() -> str:
            context = client_context(ca_file=certs.ca)
            async with AsyncNameServerClient(ns.address, ssl_context=context) as client:
                values = await asyncio.gather(*(client.get_kv_config("ns", "k") for _ in range(5)))
            assert set(values) == {"v"}
            return values[0]

        assert asyncio.run(read()) == "v"


def test_client_factories_take_an_ssl_context(tmp_path, certs):
    import asyncio

    from nsctl.client import create_async_client, create_sync_client

    context = client_context(ca_file=certs.ca)
    with tls_server(tmp_path, certs, mode="enforcing") as ns:
        with create_sync_client(ns.address, ssl_context=context) as client:
            client.put_kv_config("ns", "k", "factory")

        async def read() -> str:
            async with create_async_client(ns.address, ssl_context=context) as client:
                return await client.get_kv_config("ns", "k")

        assert asyncio.run(read()) == "factory"


def test_enforcing_closes_plaintext_with_a_log_line_and_serves_tls(tmp_path, certs, caplog):
    caplog.set_level(logging.WARNING, logger="nsctl.server")
    context = client_context(ca_file=certs.ca)
    with (
        tls_server(tmp_path, certs, "enforcing") as ns,
        NameServerClient(ns.address, ssl_context=context) as tls,
    ):
        tls.put_kv_config("ns", "k", "v")
        with pytest.raises(NameServerConnectionError), NameServerClient(ns.address) as plain:
            plain.get_kv_config("ns", "k")
        assert tls.get_kv_config("ns", "k") == "v"
    assert any("TLS is enforced" in r.getMessage() for r in caplog.records)


def test_wrong_ca_fails_with_a_clear_connection_error(tmp_path, certs):
    with tls_server(tmp_path, certs) as ns:
        context = client_context(ca_file=certs.other_ca)
        with pytest.raises(NameServerConnectionError) as sync_error:
            NameServerClient(ns.address, ssl_context=context).get_broker_cluster_info()

        async def call() -> None:
            async with AsyncNameServerClient(ns.address, ssl_context=context) as client:
                await client.get_broker_cluster_info()

        with pytest.raises(NameServerConnectionError) as async_error:
            asyncio.run(call())
    for error in (sync_error.value, async_error.value):
        assert f"TLS handshake with {ns.address} failed" in str(error)
        assert "certificate was not accepted" in str(error)


def test_self_signed_server_needs_insecure_or_its_certificate(tmp_path, certs):
    settings = TLSSettings(str(certs.self_signed_cert), str(certs.self_signed_key))
    with EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", tls=settings) as ns:
        with pytest.raises(NameServerConnectionError, match="not accepted"):
            NameServerClient(ns.address, ssl_context=client_context()).get_broker_cluster_info()
        insecure = NameServerClient(ns.address, ssl_context=client_context(insecure=True))
        with insecure:
            assert insecure.get_broker_cluster_info().broker_addr_table == {}
        pinned = client_context(ca_file=certs.self_signed_cert)
        with NameServerClient(ns.address, ssl_context=pinned) as client:
            assert client.get_broker_cluster_info().broker_addr_table == {}


def test_tls_client_against_a_plaintext_server_says_so(nameserver):
    client = NameServerClient(nameserver.address, ssl_context=client_context(insecure=True))
    with pytest.raises(NameServerConnectionError, match="does it accept TLS"):
        client.get_broker_cluster_info()
    with NameServerClient(nameserver.address) as plain:  # the server is unharmed
        assert plain.get_broker_cluster_info().broker_addr_table == {}


def test_connection_that_sends_nothing_is_closed_after_the_idle_timeout(tmp_path, certs):
    with tls_server(tmp_path, certs, idle_timeout=1) as ns, WireClient(ns.address, 10) as silent:
        assert silent.closed_by_server()
        with WireClient(ns.address) as other:
            assert other.call(request(106)).code == 0


def test_unreadable_ca_file_is_a_value_error(tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n", encoding="ascii")
    with pytest.raises(ValueError, match="cannot load the TLS CA file"):
        client_context(ca_file=bad)


# ---------------------------------------------------------------------------------------------
# CLI: nsctl serve --tls-cert ... and nsctl <command> --tls ...


def nsctl(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NAMESRV_ADDR"}
    return subprocess.run(
        [*NSCTL, *argv], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_cli_over_tls_against_serve(serve_process_factory, certs):
    server = serve_process_factory(
        "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
        "--tls-mode", "enforcing",
    )  # fmt: skip
    ok = nsctl("clusterList", "--tls", "--tls-ca", str(certs.ca), "-n", server.address, "-ojson")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["brokerAddrTable"] == {}
    put = nsctl("updateKvConfig", "-s", "ns", "-k", "k", "-v", "v", "--tls-insecure",
                "-n", server.address)  # fmt: skip
    assert put.returncode == 0, put.stderr
    refused = nsctl("clusterList", "-n", server.address, "--retries", "1")
    assert refused.returncode == 3
    assert refused.stderr.startswith("nsctl: ")
    unverified = nsctl("clusterList", "--tls", "-n", server.address, "--retries", "1")
    assert unverified.returncode == 3
    assert "certificate was not accepted" in unverified.stderr
    assert "TLS is enforced" in server.log_text()


def test_serve_tls_option_errors_exit_2(tmp_path, certs):
    half = nsctl("serve", "--port", "0", "--tls-cert", str(certs.server_cert))
    assert half.returncode == 2
    assert "--tls-key" in half.stderr
    mode = nsctl("serve", "--port", "0", "--tls-mode", "enforcing")
    assert mode.returncode == 2
    wrong_key = nsctl(
        "serve", "--port", "0", "--kv-config-path", str(tmp_path / "kv.json"),
        "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.self_signed_key),
    )  # fmt: skip
    assert wrong_key.returncode == 2
    assert "cannot load TLS certificate" in wrong_key.stderr
