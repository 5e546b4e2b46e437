"""Per-connection limits over real TCP: frame length, connection count, a peer that does not
read its answers, a frame trickled in forever. Each time only the offending connection is hit:
another one is served in the same test."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from nsctl.cli.commands import serve as serve_cli
from nsctl.protocol import frame
from nsctl.protocol.codes import RequestCode
from nsctl.protocol.models import TopicList
from nsctl.server import EmbeddedNameServer
from nsctl.server import config as server_config
from nsctl.server.config import TLSSettings
from tests.server.wire import WireClient, register_request, request
from tests.tls_certs import make_certificates


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Poll `condition` (bounded); for effects of timers, never to assert durations."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_serve_defaults_match_the_server_defaults():
    assert serve_cli.DEFAULT_MAX_CONNECTIONS == server_config.DEFAULT_MAX_CONNECTIONS
    assert serve_cli.DEFAULT_MAX_FRAME_LENGTH == server_config.DEFAULT_MAX_FRAME_LENGTH == 16 << 20


def put_kv(value: str):
    return request(RequestCode.PUT_KV_CONFIG, {"namespace": "ns", "key": "k", "value": value})


def test_frame_above_max_frame_length_closes_only_that_connection(tmp_path):
    with (
        EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", max_frame_length=4096) as ns,
        WireClient(ns.address) as healthy,
        WireClient(ns.address) as victim,
    ):
        assert victim.call(put_kv("x" * 3000)).code == 0  # under the limit: fine
        big = put_kv("x" * 5000)
        assert len(frame.encode(big)) > 4096
        victim.send(big)
        assert victim.closed_by_server()
        assert healthy.call(request(RequestCode.GET_BROKER_CLUSTER_INFO)).code == 0


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls-listener"])
def test_connections_above_max_connections_are_closed_with_a_log_line(
    tmp_path, tls, caplog, tmp_path_factory
):
    caplog.set_level(logging.WARNING, logger="nsctl.server")
    settings = None
    if tls:
        certs = make_certificates(tmp_path_factory.mktemp("certs"))
        settings = TLSSettings(str(certs.server_cert), str(certs.server_key))
    server = EmbeddedNameServer(
        kv_config_path=tmp_path / "kv.json", max_connections=2, tls=settings
    )
    cluster_info = request(RequestCode.GET_BROKER_CLUSTER_INFO)
    with server as ns, WireClient(ns.address) as first, WireClient(ns.address) as second:
        assert first.call(cluster_info).code == 0
        assert second.call(cluster_info).code == 0
        with WireClient(ns.address) as third:
            third.send(cluster_info)  # the TLS listener decides only once a byte arrives
            assert third.closed_by_server()
        assert first.call(cluster_info).code == 0
        second.close_and_wait()
        assert wait_until(lambda: len(ns.server.connections) == 1)
        with WireClient(ns.address) as fourth:  # room again
            assert fourth.call(cluster_info).code == 0
    assert any("refusing connection" in r.getMessage() for r in caplog.records)


def test_peer_that_does_not_read_its_answers_is_not_buffered_without_bound(tmp_path):
    """1000 pipelined GET_ALL_TOPIC_LIST for 2000 topics ask for ~60 MB of answers; the server
    keeps at most a batch above its high-water mark for that connection and stops reading it."""
    topics = {f"Topic-{i:05d}-padding-padding": 1 for i in range(2000)}
    with (
        EmbeddedNameServer(kv_config_path=tmp_path / "kv.json") as ns,
        WireClient(ns.address, timeout=30) as healthy,
    ):
        assert healthy.call(register_request(topics=topics)).code == 0
        hog = socket.create_connection((ns.server.host, ns.port), timeout=30)
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        requests = [request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER) for _ in range(1000)]
        hog.sendall(b"".join(frame.encode(r) for r in requests))
        with hog:

            def hog_connection():
                return max(ns.server.connections.values(), key=lambda c: c.conn_id)

            assert wait_until(lambda: not hog_connection().transport.is_reading())
            buffered = hog_connection().transport.get_write_buffer_size()
            assert buffered < 2 * 1024 * 1024, buffered
            # Meanwhile another connection is served.
            answer = healthy.call(request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER))
            assert len(TopicList.decode(answer.body).topic_list) == 2000
            # Once the hog reads, it gets every answer, in order.
            decoder = frame.FrameDecoder()
            answers = []
            while len(answers) < len(requests):
                data = hog.recv(1 << 20)
                assert data, "server closed the connection"
                answers.extend(decoder.feed(data))
        assert [a.opaque for a in answers] == [r.opaque for r in requests]
        assert all(a.code == 0 for a in answers)


def test_frame_trickled_in_forever_is_closed_after_the_idle_timeout(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="nsctl.server")
    with (
        EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", idle_timeout=1) as ns,
        WireClient(ns.address, timeout=0.3) as trickler,
    ):
        data = frame.encode(put_kv("x" * 200))
        closed = False
        deadline = time.monotonic() + 15
        for index in range(len(data) - 1):  # never the last byte
            try:
                trickler.send_raw(data[index : index + 1])
            except OSError:
                closed = True
                break
            if trickler.closed_by_server():  # waits up to 0.3 s: the connection is never idle
                closed = True
                break
            assert time.monotonic() < deadline
        assert closed
        with WireClient(ns.address) as other:
            assert other.call(request(RequestCode.GET_BROKER_CLUSTER_INFO)).code == 0
    assert any("one frame has been arriving" in r.getMessage() for r in caplog.records)
