"""The server over real TCP on 127.0.0.1: liveness, framing, pipelining, config safety, KV."""

from __future__ import annotations

import logging
import socket
import struct
import time
from pathlib import Path

import pytest

from nsctl.protocol import dialect, frame
from nsctl.protocol.codes import SerializeType
from nsctl.protocol.models import ClusterInfo, TopicRouteData
from nsctl.protocol.properties import parse_properties
from nsctl.server import EmbeddedNameServer
from nsctl.server.kvstore import KVStoreError
from tests.server.wire import WireClient, register_request, request

MASTER = "127.0.0.1:10911"
SLAVE = "127.0.0.1:10921"


def cluster_info(address: str) -> ClusterInfo:
    with WireClient(address) as client:
        return ClusterInfo.decode(client.call(request(106)).body)


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Poll `condition` (bounded); for effects of timers, never to assert durations."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def registered_addrs(address: str) -> set[str]:
    info = cluster_info(address)
    return {a for b in info.broker_addr_table.values() for a in b.broker_addrs.values()}


# ---------------------------------------------------------------------------------------------
# Brokers


def test_register_master_and_slave_then_unregister(nameserver):
    with WireClient(nameserver.address) as master, WireClient(nameserver.address) as slave:
        answer = master.call(register_request())
        assert answer.code == 0 and answer.ext_fields == {} and answer.body is None
        answer = slave.call(register_request(broker_addr=SLAVE, broker_id=1))
        assert answer.ext_fields == {"haServerAddr": "127.0.0.1:10912", "masterAddr": MASTER}

        with WireClient(nameserver.address) as client:
            route = TopicRouteData.decode(client.call(request(105, {"topic": "TopicTest"})).body)
        assert route.broker_datas[0].broker_addrs == {0: MASTER, 1: SLAVE}

        ext = {"brokerName": "broker-a", "clusterName": "DefaultCluster", "brokerId": "1"}
        assert slave.call(request(104, {**ext, "brokerAddr": SLAVE})).code == 0
        assert registered_addrs(nameserver.address) == {MASTER}
        assert master.call(request(104, {**ext, "brokerAddr": MASTER, "brokerId": "0"})).code == 0
        assert registered_addrs(nameserver.address) == set()


def test_order_topic_config_is_returned_to_registering_brokers(nameserver):
    with WireClient(nameserver.address) as client:
        assert client.call(register_request()).body is None
        put = {"namespace": "ORDER_TOPIC_CONFIG", "key": "TopicTest", "value": "broker-a:4"}
        assert client.call(request(100, put)).code == 0
        answer = client.call(register_request())
        assert dialect.loads(answer.body) == {"table": {"TopicTest": "broker-a:4"}}


def test_broker_expires_after_short_timeout_and_its_connection_is_closed(tmp_path):
    with EmbeddedNameServer(
        kv_config_path=tmp_path / "kv.json", broker_expire=0.3, scan_interval=0.05
    ) as ns:
        broker = WireClient(ns.address)
        assert broker.call(register_request()).code == 0
        assert registered_addrs(ns.address) == {MASTER}
        assert wait_until(lambda: registered_addrs(ns.address) == set())
        assert broker.closed_by_server()
        broker.close()


def test_heartbeat_timeout_from_broker_header_is_honoured(tmp_path):
    ns = EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", scan_interval=0.05)
    with ns, WireClient(ns.address) as quick, WireClient(ns.address) as slow:
        extra = {"heartbeatTimeoutMillis": "300", "enableActingMaster": "false"}
        assert quick.call(register_request(extra_ext=extra)).code == 0
        other = register_request(broker_name="broker-b", broker_addr="127.0.0.1:10931")
        assert slow.call(other).code == 0
        assert wait_until(lambda: MASTER not in registered_addrs(ns.address))
        assert registered_addrs(ns.address) == {"127.0.0.1:10931"}


def test_closing_the_registering_connection_removes_the_broker(nameserver):
    broker = WireClient(nameserver.address)
    assert broker.call(register_request()).code == 0
    with WireClient(nameserver.address) as bystander:
        assert bystander.call(request(106)).code == 0
        broker.close_and_wait()
        assert ClusterInfo.decode(bystander.call(request(106)).body).broker_addr_table == {}


# ---------------------------------------------------------------------------------------------
# Framing and connections


def test_pipelined_requests_on_one_connection_are_all_answered_in_order(nameserver):
    with WireClient(nameserver.address) as client:
        client.call(register_request())
        batch = [request(105, {"topic": "TopicTest" if i % 2 else "Nope"}) for i in range(200)]
        client.send_raw(b"".join(frame.encode(r) for r in batch))
        answers = [client.recv() for _ in batch]
    assert [a.opaque for a in answers] == [r.opaque for r in batch]
    assert [a.code for a in answers] == [0 if i % 2 else 17 for i in range(200)]


def test_each_header_serialization_is_answered_in_kind(nameserver):
    with WireClient(nameserver.address) as client:
        client.call(register_request(serialize=SerializeType.ROCKETMQ))
        for serialize in (SerializeType.JSON, SerializeType.ROCKETMQ):
            answer = client.call(request(105, {"topic": "TopicTest"}, serialize=serialize))
            assert answer.serialize_type == serialize and answer.code == 0
            assert TopicRouteData.decode(answer.body).broker_datas[0].broker_addrs == {0: MASTER}
        answer = client.call(
            request(101, {"namespace": "x", "key": "y"}, serialize=SerializeType.ROCKETMQ)
        )
        assert answer.code == 22 and answer.remark == "No config item, Namespace: x Key: y"


def test_old_client_versions_get_bare_integer_keys(nameserver):
    with WireClient(nameserver.address) as client:
        client.call(register_request())
        old = client.call(request(105, {"topic": "TopicTest"}, version=395)).body
        asked = client.call(
            request(105, {"topic": "TopicTest", "acceptStandardJsonOnly": "true"}, version=395)
        ).body
    assert b'{0:"127.0.0.1:10911"}' in old
    assert b'{"0":"127.0.0.1:10911"}' in asked


def test_one_way_requests_get_no_answer_and_unknown_codes_get_code_3(nameserver):
    with WireClient(nameserver.address) as client:
        oneway = register_request()
        oneway.flag = 2
        client.send(oneway)
        follow_up = request(9999)
        answer = client.call(follow_up)  # the first frame back answers the follow-up
        assert (answer.code, answer.remark) == (3, " request type 9999 not supported")
        assert registered_addrs(nameserver.address) == {MASTER}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b"\x16\x03\x01\x02\x00" + b"garbage" * 20, id="garbage"),
        pytest.param(struct.pack(">ii", 0x7FFFFFF0, 12), id="oversize-length"),
        pytest.param(struct.pack(">ii", 20, 0x05000010) + b"x" * 16, id="unknown-serialize-type"),
        pytest.param(struct.pack(">ii", 16, 12) + b"{not json}!!", id="bad-json-header"),
    ],
)
def test_malformed_frame_closes_only_that_connection(nameserver, bad: bytes):
    with WireClient(nameserver.address) as healthy, WireClient(nameserver.address) as victim:
        assert healthy.call(request(106)).code == 0
        victim.send_raw(bad)
        assert victim.closed_by_server()
        assert healthy.call(request(106)).code == 0
        with WireClient(nameserver.address) as fresh:
            assert fresh.call(request(106)).code == 0


def test_truncated_frame_then_close_does_not_disturb_others(nameserver):
    with WireClient(nameserver.address) as healthy:
        victim = WireClient(nameserver.address)
        whole = frame.encode(request(105, {"topic": "TopicTest"}))
        victim.send_raw(whole[: len(whole) // 2])
        victim.close_and_wait()
        assert healthy.call(request(106)).code == 0


def test_idle_connections_are_closed(tmp_path):
    ns = EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", idle_timeout=1)
    with ns, WireClient(ns.address, timeout=10) as idle:
        assert idle.call(request(106)).code == 0
        assert idle.closed_by_server()


def test_idle_close_of_a_broker_connection_removes_the_broker(tmp_path):
    with EmbeddedNameServer(kv_config_path=tmp_path / "kv.json", idle_timeout=1) as ns:
        with WireClient(ns.address, timeout=10) as broker:
            assert broker.call(register_request()).code == 0
            assert broker.closed_by_server()
        assert registered_addrs(ns.address) == set()


# ---------------------------------------------------------------------------------------------
# Configuration


def get_config(address: str) -> dict[str, str]:
    with WireClient(address) as client:
        return parse_properties(client.call(request(319)).body.decode())


def update_config(address: str, text: str):
    with WireClient(address) as client:
        return client.call(request(318, body=text.encode()))


@pytest.mark.parametrize(
    "key", ["kvConfigPath", "configStorePath", "rocketmqHome", "configBlackList"]
)
def test_update_config_cannot_change_paths_or_black_list_cve_2023_37582(nameserver, tmp_path, key):
    before = get_config(nameserver.address)
    evil = tmp_path / "evil"
    answer = update_config(nameserver.address, f"{key}={evil}\norderMessageEnable=true\n")
    assert (answer.code, answer.remark) == (16, "Can not update config in black list.")
    assert get_config(nameserver.address) == before  # nothing applied, not even the safe key
    assert not evil.exists() and not list(tmp_path.glob("**/*.properties"))


def test_update_config_applies_runtime_keys_only_and_writes_no_file(nameserver, tmp_path):
    answer = update_config(
        nameserver.address, "orderMessageEnable=true\nlistenPort=1\nproductEnvName=x\n"
    )
    assert answer.code == 0
    config = get_config(nameserver.address)
    assert config["orderMessageEnable"] == "true"
    assert config["listenPort"] == str(nameserver.port) and config["productEnvName"] == "center"
    assert not list(tmp_path.glob("**/*.properties"))


def test_update_config_with_unparsable_text(nameserver):
    answer = update_config(nameserver.address, "orderMessageEnable=\\uZZZZ\n")
    assert (answer.code, answer.remark) == (1, "string2Properties error")


def test_order_topic_conf_appears_in_routes_when_enabled(nameserver):
    with WireClient(nameserver.address) as client:
        client.call(register_request())
        put = {"namespace": "ORDER_TOPIC_CONFIG", "key": "TopicTest", "value": "broker-a:4"}
        client.call(request(100, put))
        route = TopicRouteData.decode(client.call(request(105, {"topic": "TopicTest"})).body)
        assert route.order_topic_conf is None
        client.call(request(318, body=b"orderMessageEnable=true\n"))
        route = TopicRouteData.decode(client.call(request(105, {"topic": "TopicTest"})).body)
        assert route.order_topic_conf == "broker-a:4"


# ---------------------------------------------------------------------------------------------
# KV store


def put_kv(address: str, namespace: str, key: str, value: str) -> int:
    with WireClient(address) as client:
        return client.call(request(100, {"namespace": namespace, "key": key, "value": value})).code


def get_kv(address: str, namespace: str, key: str) -> str | None:
    with WireClient(address) as client:
        return client.call(request(101, {"namespace": namespace, "key": key})).ext("value")


def test_kv_survives_restart_in_java_layout(tmp_path):
    path = tmp_path / "kvConfig.json"
    with EmbeddedNameServer(kv_config_path=path) as ns:
        assert put_kv(ns.address, "ns", "k", "v é") == 0
        assert put_kv(ns.address, "ORDER_TOPIC_CONFIG", "T", "broker-a:4") == 0
    assert dialect.loads(path.read_bytes()) == {
        "configTable": {"ns": {"k": "v é"}, "ORDER_TOPIC_CONFIG": {"T": "broker-a:4"}}
    }
    with EmbeddedNameServer(kv_config_path=path) as ns:
        assert get_kv(ns.address, "ns", "k") == "v é"


def test_corrupt_kv_file_falls_back_to_backup_with_a_log_line(tmp_path, caplog):
    path = tmp_path / "kvConfig.json"
    with EmbeddedNameServer(kv_config_path=path) as ns:
        put_kv(ns.address, "ns", "k", "old")
        put_kv(ns.address, "ns", "k2", "new")  # .bak now holds the state with k only
    path.write_bytes(b'{"configTable":{"ns":{"k":')  # torn by hand
    log_errors = caplog.at_level(logging.ERROR, logger="nsctl.server.kvstore")
    with log_errors, EmbeddedNameServer(kv_config_path=path) as ns:
        assert get_kv(ns.address, "ns", "k") == "old"
    assert any("corrupt" in r.getMessage() and ".bak" in r.getMessage() for r in caplog.records)
    assert dialect.loads(path.read_bytes()) == {"configTable": {"ns": {"k": "old"}}}


def test_corrupt_kv_file_and_backup_refuse_to_start(tmp_path):
    path = tmp_path / "kvConfig.json"
    path.write_bytes(b"{{{")
    Path(f"{path}.bak").write_bytes(b"not json")
    with pytest.raises(KVStoreError, match="corrupt"):
        EmbeddedNameServer(kv_config_path=path).start()
    path.write_bytes(b"[1, 2")
    Path(f"{path}.bak").unlink()
    with pytest.raises(KVStoreError, match="does not exist"):
        EmbeddedNameServer(kv_config_path=path).start()


def test_kv_edge_cases(nameserver):
    with WireClient(nameserver.address) as client:
        answer = client.call(request(100, {"key": "k", "value": "v"}))
        assert (answer.code, answer.remark) == (1, "namespace or key is null")
        assert client.call(request(219, {"namespace": "nope"})).code == 22
        client.call(request(100, {"namespace": "ns", "key": "k", "value": "v"}))
        client.call(request(102, {"namespace": "ns", "key": "k"}))
        empty = client.call(request(219, {"namespace": "ns"}))  # exists, now empty
        assert (empty.code, dialect.loads(empty.body)) == (0, {"table": {}})


def test_server_survives_garbage_from_many_connections(nameserver):
    for chunk in (b"\x00\x00\x00\x04\x00\x00\x00\x00", b"\xff" * 64, b"\x00\x00\x00\x00"):
        with socket.create_connection((nameserver.host, nameserver.port), timeout=5) as sock:
            sock.sendall(chunk)
    assert cluster_info(nameserver.address).broker_addr_table == {}
