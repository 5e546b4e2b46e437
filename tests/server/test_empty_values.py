"""An empty string is a value: the KV store keeps it, `serve` answers it, the CLI shows it.

Over the ROCKETMQ serialization `serve` does what Java 5.3.3 does with the null its decoder
makes of a zero-length value: PUT_KV_CONFIG stores null, which reads as "not found", is left
out of lists and of the file, yet created the namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys

from nsctl.protocol.codes import ResponseCode, SerializeType
from nsctl.protocol.models import KVTable, TopicRouteData
from nsctl.server.kvstore import KVStore
from tests.server.wire import WireClient, register_request, request

ROCKETMQ = SerializeType.ROCKETMQ


def test_store_keeps_an_empty_value_and_never_deletes_on_put(tmp_path):
    path = tmp_path / "kv.json"
    store = KVStore(path)
    store.put("app", "keep", "x")
    store.put("app", "keep", "")
    store.put("app", "blank", " ")
    assert store.get("app", "keep") == ""
    assert store.namespace("app") == {"keep": "", "blank": " "}
    assert json.loads(path.read_text()) == {"configTable": {"app": {"keep": "", "blank": " "}}}
    reloaded = KVStore(path)
    reloaded.load()
    assert reloaded.get("app", "keep") == ""


def test_store_holds_java_null_as_absent_but_keeps_the_namespace(tmp_path):
    path = tmp_path / "kv.json"
    store = KVStore(path)
    store.put("app", "gone", "x")
    store.put("app", "gone", None)
    store.put("fresh", "k", None)
    assert store.get("app", "gone") is None
    assert store.namespace("app") == {} and store.namespace("fresh") == {}
    assert store.snapshot() == {"app": {}, "fresh": {}}
    assert json.loads(path.read_text()) == {"configTable": {"app": {}, "fresh": {}}}
    store.put("app", "gone", "back")
    assert store.get("app", "gone") == "back"


def _kv(client: WireClient, code: int, serialize: SerializeType = SerializeType.JSON, **ext):
    return client.call(request(code, ext, serialize=serialize))


def test_json_put_of_an_empty_value_is_answered_back(nameserver):
    with WireClient(nameserver.address) as client:
        assert _kv(client, 100, namespace="app", key="keep", value="x").code == 0
        assert _kv(client, 100, namespace="app", key="keep", value="").code == 0
        got = _kv(client, 101, namespace="app", key="keep")
        assert (got.code, got.ext_fields) == (0, {"value": ""})
        listed = _kv(client, 219, namespace="app")
        assert KVTable.decode(listed.body).table == {"keep": ""}
        # "" is a namespace and a key like any other; a missing one is not "".
        assert _kv(client, 100, namespace="", key="", value="v").code == 0
        assert _kv(client, 101, namespace="", key="").ext_fields == {"value": "v"}
        missing = client.call(request(101, {"key": ""}))
        assert missing.code == ResponseCode.QUERY_NOT_FOUND
        assert missing.remark == "No config item, Namespace: null Key: "
        assert client.call(request(219, {})).code == ResponseCode.QUERY_NOT_FOUND


def test_rocketmq_put_of_an_empty_value_stores_java_null(nameserver):
    with WireClient(nameserver.address) as client:
        assert _kv(client, 100, namespace="app", key="keep", value="x").code == 0
        assert _kv(client, 100, ROCKETMQ, namespace="app", key="keep", value="").code == 0
        got = _kv(client, 101, namespace="app", key="keep")
        assert (got.code, got.remark) == (
            ResponseCode.QUERY_NOT_FOUND,
            "No config item, Namespace: app Key: keep",
        )
        assert KVTable.decode(_kv(client, 219, namespace="app").body).table == {}
        # The namespace was created all the same, as Java's put creates it before storing null.
        assert _kv(client, 100, ROCKETMQ, namespace="new", key="k", value="").code == 0
        assert KVTable.decode(_kv(client, 219, namespace="new").body).table == {}
        # An empty namespace or key is null too: Java's "namespace or key is null".
        refused = _kv(client, 100, ROCKETMQ, namespace="", key="k", value="v")
        assert (refused.code, refused.remark) == (1, "namespace or key is null")


def _nsctl(address: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", *argv, "-n", address],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_put_empty_value_then_get_and_list_through_nsctl_serve(serve_process):
    address = serve_process.address
    put = _nsctl(address, "putKV", "-s", "app", "-k", "keep", "-v", "")
    assert put.returncode == 0, put.stderr
    got = _nsctl(address, "getKV", "-s", "app", "-k", "keep")
    assert (got.returncode, got.stdout) == (0, "\n"), got.stderr
    listed = _nsctl(address, "getKVList", "-s", "app", "-o", "plain")
    assert (listed.returncode, listed.stdout) == (0, "keep=\n"), listed.stderr
    as_json = _nsctl(address, "getKV", "-s", "app", "-k", "keep", "-o", "json")
    assert json.loads(as_json.stdout) == {"namespace": "app", "key": "keep", "value": ""}


def test_zone_mode_and_blank_zone_names_read_as_java_reads_them(nameserver):
    """5.3.3's zone hook: Boolean.parseBoolean of the mode (no trimming), a blank name is no
    filter, and a name is used as sent."""
    with WireClient(nameserver.address) as client:
        for name, addr, zone in (("a", "127.0.0.1:10911", "z1"), ("b", "127.0.0.1:10921", "z2")):
            extra = {"__ZONE_NAME": zone}
            assert (
                client.call(
                    register_request(broker_name=name, broker_addr=addr, extra_ext=extra)
                ).code
                == 0
            )

        def brokers(**ext: str) -> list[str]:
            answer = client.call(request(105, {"topic": "TopicTest", **ext}))
            return sorted(b.broker_name for b in TopicRouteData.decode(answer.body).broker_datas)

        assert brokers(__ZONE_MODE="true", __ZONE_NAME="Z1") == ["a"]
        assert brokers(__ZONE_MODE=" true", __ZONE_NAME="z1") == ["a", "b"]
        assert brokers(__ZONE_MODE="true", __ZONE_NAME=" \t") == ["a", "b"]
        assert brokers(__ZONE_MODE="true", __ZONE_NAME=" z1") == []  # nothing in zone " z1"
