"""Address discovery: parsing, precedence, and a real local HTTP address server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nsctl.client import NoNameServerAddressError, parse_addresses, resolve_addresses
from nsctl.client.discovery import address_server_url
from nsctl.client.errors import NameServerConnectionError


class AddressServer:
    """http.server on 127.0.0.1 answering GET with `body` and `status`."""

    def __init__(self, body: str, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, dict(self.headers)))
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def address_server(request: pytest.FixtureRequest) -> Iterator[AddressServer]:
    body, status = getattr(request, "param", ("10.0.0.1:9876;10.0.0.2:9876\nignored", 200))
    server = AddressServer(body, status)
    yield server
    server.close()


def test_parse_addresses_splits_trims_and_validates() -> None:
    assert parse_addresses("a:1;b:2") == ["a:1", "b:2"]
    assert parse_addresses(" a:1 , b:2 ;; a:1 ") == ["a:1", "b:2"]
    assert parse_addresses("http://10.0.0.1:9876") == ["10.0.0.1:9876"]
    assert parse_addresses("[::1]:9876") == ["[::1]:9876"]
    assert parse_addresses("") == []
    for bad in ("nohost", "a:", ":9876", "a:99999", "a:b", "bad host:1"):
        with pytest.raises(ValueError, match="invalid NameServer address"):
            parse_addresses(f"ok:1;{bad}")


def test_explicit_wins_over_environment() -> None:
    env = {"NAMESRV_ADDR": "env:1"}
    resolved = resolve_addresses("opt:1;opt:2", env=env)
    assert (resolved.addresses, resolved.source) == (["opt:1", "opt:2"], "option")
    resolved = resolve_addresses(None, env=env)
    assert (resolved.addresses, resolved.source) == (["env:1"], "NAMESRV_ADDR")


def test_nothing_configured_is_a_typed_error() -> None:
    with pytest.raises(NoNameServerAddressError, match="NAMESRV_ADDR"):
        resolve_addresses(None, env={})


def test_domain_url_follows_java() -> None:
    assert address_server_url({"ROCKETMQ_NAMESRV_DOMAIN": "jmenv"}) == (
        "http://jmenv:8080/rocketmq/nsaddr"
    )
    assert address_server_url(
        {"ROCKETMQ_NAMESRV_DOMAIN": "jmenv:80", "ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP": "grp"}
    ) == ("http://jmenv:80/rocketmq/grp")
    assert address_server_url({"NSCTL_ADDRESS_SERVER_URL": "http://x/y"}) == "http://x/y"
    assert address_server_url({}) is None


def test_address_server_by_explicit_url(address_server: AddressServer) -> None:
    url = f"http://{address_server.host_port}/rocketmq/nsaddr"
    resolved = resolve_addresses(None, address_server_url=url, env={})
    assert resolved.addresses == ["10.0.0.1:9876", "10.0.0.2:9876"]
    assert resolved.source == f"address server {url}"
    path, headers = address_server.requests[0]
    assert path == "/rocketmq/nsaddr"
    assert "Metaq-Client-RequestTS" in headers


def test_address_server_by_domain_environment(address_server: AddressServer) -> None:
    env = {
        "ROCKETMQ_NAMESRV_DOMAIN": address_server.host_port,
        "ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP": "unit1",
    }
    resolved = resolve_addresses(None, env=env)
    assert resolved.addresses == ["10.0.0.1:9876", "10.0.0.2:9876"]
    assert address_server.requests[0][0] == "/rocketmq/unit1"


@pytest.mark.parametrize("address_server", [("oops", 500)], indirect=True)
def test_address_server_error_status(address_server: AddressServer) -> None:
    env = {"NSCTL_ADDRESS_SERVER_URL": f"http://{address_server.host_port}/x"}
    with pytest.raises(NameServerConnectionError, match="HTTP 500"):
        resolve_addresses(None, env=env)


@pytest.mark.parametrize("address_server", [("  \n", 200)], indirect=True)
def test_address_server_empty_answer(address_server: AddressServer) -> None:
    env = {"NSCTL_ADDRESS_SERVER_URL": f"http://{address_server.host_port}/x"}
    with pytest.raises(NoNameServerAddressError):
        resolve_addresses(None, env=env)


def test_unreachable_address_server() -> None:
    from tests.client.servers import closed_port_address

    url = f"http://{closed_port_address()}/rocketmq/nsaddr"
    with pytest.raises(NameServerConnectionError, match="unreachable"):
        resolve_addresses(None, address_server_url=url, env={}, timeout=1.0)
