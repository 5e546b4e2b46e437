"""`--each`: a read asked of every NameServer shows each answer, marks what differs and exits
5 when they disagree (3 when one cannot be asked); without --each reads are unchanged."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer
from tests.cli.conftest import NSCTL

TOPICS = {"Shared": TopicConfig("Shared", 4, 4), "Other": TopicConfig("Other", 4, 4)}


@pytest.fixture
def two(tmp_path) -> Iterator[tuple[str, str, list[NameServerClient]]]:
    with (
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "1.json") as one,
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "2.json") as two,
    ):
        clients = []
        for ns in (one, two):  # the same broker on both: the NameServers agree on it
            client = NameServerClient(ns.address)
            clients.append(client)
            client.register_broker(cluster_name="C", broker_name="broker-a",
                                   broker_addr="127.0.0.1:10911", topic_configs=TOPICS)  # fmt: skip
            client.put_kv_config("app", "same", "v")
        yield one.address, two.address, clients
        for client in clients:
            client.close()


def nsctl(*args: str, namesrv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*NSCTL, *args, "-n", ";".join(namesrv)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ("topicRoute", "-t", "Shared"),
        ("topicList",),
        ("clusterList", "--no-stats"),
        ("getKV", "-s", "app", "-k", "same"),
        ("getKVList", "-s", "app"),
    ],
    ids=lambda a: a[0],
)
def test_agreeing_namesrvs_exit_0(two, args):
    one, other, _ = two
    done = nsctl(*args, "--each", "-o", "json", namesrv=[one, other])
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["differences"] == []
    assert [n["namesrv"] for n in document["namesrvs"]] == [one, other]


def test_a_namesrv_that_lost_things_is_shown_and_exits_5(two):
    one, other, clients = two
    clients[1].put_kv_config("app", "same", "changed")
    clients[1].put_kv_config("app", "extra", "x")
    clients[1].delete_topic_in_namesrv("Shared")
    kv = nsctl("getKVList", "-s", "app", "--each", "-o", "json", namesrv=[one, other])
    assert kv.returncode == 5
    differences = {d["item"]: d["values"] for d in json.loads(kv.stdout)["differences"]}
    assert differences == {"extra": {one: None, other: "x"},
                           "same": {one: "v", other: "changed"}}  # fmt: skip
    route = nsctl("topicRoute", "-t", "Shared", "--each", namesrv=[one, other])
    assert route.returncode == 5 and "≠" in route.stdout and "(missing)" in route.stdout
    plain = nsctl("getKV", "-s", "app", "-k", "same", "--each", "-o", "plain", namesrv=[one, other])
    assert plain.returncode == 5 and "DIFFERS\tapp/same" in plain.stdout.splitlines()
    config = nsctl("getNamesrvConfig", "--each", "-o", "json", namesrv=[one, other])
    assert config.returncode == 5  # the two differ at least in their KV paths


def test_an_unreachable_namesrv_under_each_exits_3(two):
    one, _, _ = two
    done = nsctl("topicList", "--each", namesrv=[one, "127.0.0.1:1"])
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "127.0.0.1:1" in done.stderr


def test_each_refuses_what_it_cannot_compare(two):
    one, other, _ = two
    for args in (("clusterList",), ("topicList", "--system"), ("topicRoute", "-t", "T", "-l")):
        done = nsctl(*args, "--each", namesrv=[one, other])
        assert done.returncode == 2 and done.stderr.count("\n") == 1, args
