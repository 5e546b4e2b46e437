"""Admin requests only from allowed peers (loopback by default); broker traffic and reads stay
open. Tests only have loopback, so the allow-list is set to a block that excludes 127.0.0.1."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from nsctl.protocol.codes import RequestCode, ResponseCode
from nsctl.protocol.models import TopicRouteData
from nsctl.server import EmbeddedNameServer
from nsctl.server.config import NamesrvConfig, parse_networks
from nsctl.server.dispatch import ADMIN_CODES, Dispatcher
from nsctl.server.kvstore import KVStore
from nsctl.server.route_table import RouteTable
from tests.server.wire import WireClient, register_request, request

C = RequestCode
ADMIN_REQUESTS = {
    C.PUT_KV_CONFIG: ({"namespace": "ns", "key": "k", "value": "evil"}, None),
    C.DELETE_KV_CONFIG: ({"namespace": "ns", "key": "k"}, None),
    C.WIPE_WRITE_PERM_OF_BROKER: ({"brokerName": "broker-a"}, None),
    C.ADD_WRITE_PERM_OF_BROKER: ({"brokerName": "broker-a"}, None),
    C.DELETE_TOPIC_IN_NAMESRV: ({"topic": "TopicTest"}, None),
    C.UPDATE_NAMESRV_CONFIG: (None, b"orderMessageEnable=true\n"),
}


def test_the_admin_codes_are_exactly_the_documented_six():
    assert set(ADMIN_REQUESTS) == set(ADMIN_CODES)


@pytest.fixture
def locked(tmp_path):
    """A server whose admin allow-list excludes this host; one broker and one KV entry set
    up through the in-process (trusted) path."""
    with EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", admin_allow=["10.0.0.0/8"]) as ns:
        ns.server.kv.put("ns", "k", "v")
        yield ns


@pytest.mark.parametrize("code", sorted(ADMIN_REQUESTS), ids=lambda c: C(c).name)
def test_admin_request_from_outside_the_allow_list_is_refused_and_changes_nothing(
    locked, code, caplog
):
    caplog.set_level(logging.WARNING, logger="nsctl.server")
    ext, body = ADMIN_REQUESTS[code]
    with WireClient(locked.address) as client:
        assert client.call(register_request()).code == 0
        response = client.call(request(code, ext, body))
        assert response.code == ResponseCode.NO_PERMISSION
        assert response.remark == (
            f"admin request {C(code).name} refused for 127.0.0.1: allowed from 10.0.0.0/8 "
            "(nsctl serve --admin-allow)"
        )
        # Nothing changed; reads and broker traffic on the same connection are still served.
        kv = client.call(request(C.GET_KV_CONFIG, {"namespace": "ns", "key": "k"}))
        assert kv.ext_fields == {"value": "v"}
        route = client.call(request(C.GET_ROUTEINFO_BY_TOPIC, {"topic": "TopicTest"}))
        assert TopicRouteData.decode(route.body).queue_datas[0].perm == 6
        assert not locked.server.config.flag("orderMessageEnable")
        assert client.call(register_request(broker_name="broker-b")).code == 0
    assert any(
        r.levelno == logging.WARNING and "refused for 127.0.0.1" in r.getMessage()
        for r in caplog.records
    )


def test_one_way_admin_request_from_outside_is_dropped(locked):
    with WireClient(locked.address) as client:
        client.send(
            request(C.PUT_KV_CONFIG, {"namespace": "ns", "key": "k", "value": "x"}, oneway=True)
        )
        kv = client.call(request(C.GET_KV_CONFIG, {"namespace": "ns", "key": "k"}))
        assert kv.ext_fields == {"value": "v"}


def test_admin_requests_from_loopback_are_served_by_default(nameserver):
    with WireClient(nameserver.address) as client:
        put = request(C.PUT_KV_CONFIG, {"namespace": "ns", "key": "k", "value": "v"})
        assert client.call(put).code == ResponseCode.SUCCESS


@pytest.mark.parametrize(
    ("allow", "peer", "allowed"),
    [
        (None, "127.0.0.1", True),
        (None, "127.8.9.10", True),
        (None, "::1", True),
        (None, "::ffff:127.0.0.1", True),  # an IPv4 peer seen by a dual-stack socket
        (None, "10.1.2.3", False),
        (None, "192.168.0.7", False),
        (None, "?", False),  # unknown peer
        (["10.0.0.0/8"], "10.1.2.3", True),
        (["10.0.0.0/8"], "127.0.0.1", False),
        (["0.0.0.0/0", "::/0"], "203.0.113.9", True),
        (["0.0.0.0/0", "::/0"], "2001:db8::1", True),
        (["192.168.0.7"], "192.168.0.7", True),
        (["192.168.0.7"], "192.168.0.8", False),
    ],
)
def test_admin_allowed(tmp_path, allow, peer, allowed):
    config = NamesrvConfig()
    if allow is not None:
        config.admin_allow = parse_networks(allow)
    dispatcher = Dispatcher(RouteTable(), KVStore(tmp_path / "kv.json"), config)
    assert dispatcher.admin_allowed(peer) is allowed
    put = request(C.PUT_KV_CONFIG, {"namespace": "ns", "key": "k", "value": "v"})
    response = dispatcher.handle(put, conn=1, peer_host=peer)
    assert response is not None
    expected = ResponseCode.SUCCESS if allowed else ResponseCode.NO_PERMISSION
    assert response.code == expected


def test_default_remark_names_loopback(tmp_path):
    dispatcher = Dispatcher(RouteTable(), KVStore(tmp_path / "kv.json"), NamesrvConfig())
    update = request(C.UPDATE_NAMESRV_CONFIG, body=b"orderMessageEnable=true\n")
    response = dispatcher.handle(update, conn=1, peer_host="10.1.2.3")
    assert response is not None
    assert response.remark == (
        "admin request UPDATE_NAMESRV_CONFIG refused for 10.1.2.3: allowed from 127.0.0.0/8, ::1 "
        "(nsctl serve --admin-allow)"
    )


def test_bad_network_is_a_value_error():
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        parse_networks(["10.0.0.0/8", "10.0.0.0/33"])


# ---------------------------------------------------------------------------------------------
# CLI


def nsctl(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NAMESRV_ADDR"}
    return subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_cli_shows_the_refusal_with_exit_1(serve_process_factory):
    server = serve_process_factory("--admin-allow", "10.0.0.0/8", "--admin-allow", "fd00::/8")
    put = nsctl("updateKvConfig", "-s", "ns", "-k", "k", "-v", "v", "-n", server.address)
    assert put.returncode == 1
    assert "NO_PERMISSION" in put.stderr
    assert (
        "admin request PUT_KV_CONFIG refused for 127.0.0.1: allowed from 10.0.0.0/8, fd00::/8"
        in put.stderr
    )
    listing = nsctl("clusterList", "-n", server.address, "-o", "json")
    assert listing.returncode == 0, listing.stderr
    assert "refused for 127.0.0.1" in server.log_text()


def test_cli_admin_allow_can_open_it_up(serve_process_factory):
    server = serve_process_factory("--admin-allow", "0.0.0.0/0")
    put = nsctl("updateKvConfig", "-s", "ns", "-k", "k", "-v", "v", "-n", server.address)
    assert put.returncode == 0, put.stderr


def test_serve_rejects_a_bad_admin_allow(tmp_path):
    bad = nsctl("serve", "--port", "0", "--admin-allow", "10.0.0.0/33")
    assert bad.returncode == 2
    assert "--admin-allow" in bad.stderr
