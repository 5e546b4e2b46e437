"""Every NameServer command run as a subprocess against a real server, in all output modes."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import start_broker

pytestmark = pytest.mark.script_launch_mode("subprocess")


def run(script_runner, ns, *argv, ok=True):
    result = script_runner.run(["nsctl", *argv, "-n", ns.address])
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def as_json(result):
    return json.loads(result.stdout)


def test_register_broker_prints_one_line_and_slave_learns_master(cluster):
    ns, brokers = cluster
    master, slave, other = brokers
    assert master.lines == [f"registered broker-a (id 0, 127.0.0.1:10911) on {ns.address}"]
    assert slave.lines[0].endswith("; master 127.0.0.1:10911, HA 127.0.0.1:10912")
    code, err = other.stop()
    assert code == 0
    assert "unregistered broker-b" in err


def test_topic_route_json_plain_list_and_table(script_runner, cluster):
    ns, _ = cluster
    route = as_json(run(script_runner, ns, "topicRoute", "-t", "TopicTest", "-o", "json"))
    assert sorted(q["brokerName"] for q in route["queueDatas"]) == ["broker-a", "broker-b"]
    broker_a = next(b for b in route["brokerDatas"] if b["brokerName"] == "broker-a")
    assert broker_a["brokerAddrs"] == {"0": "127.0.0.1:10911", "1": "127.0.0.1:10921"}

    plain = run(script_runner, ns, "topicRoute", "-t", "TopicTest", "-o", "plain").stdout
    assert plain.startswith('{\n\t"brokerDatas":[')
    assert '"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"\n\t\t\t},' in plain

    listing = run(script_runner, ns, "topicRoute", "-t", "TopicTest", "-o", "plain", "-l")
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("#ClusterName")
    assert "{0=127.0.0.1:10911, 1=127.0.0.1:10921}" in lines[1]
    assert lines[-1].split() == ["Total:", "2", "12", "12"]

    table = run(script_runner, ns, "topicRoute", "-t", "TopicTest").stdout
    assert "broker-a" in table and "RW-" in table and "master 127.0.0.1:10911" in table


def test_topic_route_of_unknown_topic_exits_1(script_runner, cluster):
    ns, _ = cluster
    result = run(script_runner, ns, "topicRoute", "-t", "NoSuchTopic", ok=False)
    assert result.returncode == 1
    assert "NoSuchTopic" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cluster_list_modes(script_runner, cluster):
    ns, _ = cluster
    data = as_json(run(script_runner, ns, "clusterList", "-o", "json"))
    assert sorted(data["clusterAddrTable"]["DefaultCluster"]) == ["broker-a", "broker-b"]
    plain = run(script_runner, ns, "clusterList", "-o", "plain").stdout.splitlines()
    assert plain[0].startswith("#Cluster Name           #Broker Name")  # mqadmin 5.3.3
    assert [line.split()[:4] for line in plain[1:]] == [
        ["DefaultCluster", "broker-a", "0", "127.0.0.1:10911"],
        ["DefaultCluster", "broker-a", "1", "127.0.0.1:10921"],
        ["DefaultCluster", "broker-b", "0", "127.0.0.1:10931"],
    ]
    table = run(script_runner, ns, "clusterList", "-c", "DefaultCluster", "--no-stats").stdout
    assert "slave" in table
    missing = run(script_runner, ns, "clusterList", "-c", "Nope", ok=False)
    assert missing.returncode == 1 and "Nope" in missing.stderr


def test_topic_lists(script_runner, cluster):
    ns, _ = cluster
    topics = set(run(script_runner, ns, "topicList", "-o", "plain").stdout.split())
    assert {"TopicTest", "OnlyA", "TBW102", "broker-a", "DefaultCluster"} <= topics
    by_cluster = as_json(run(script_runner, ns, "topicList", "-c", "DefaultCluster", "-o", "json"))
    assert "OnlyA" in by_cluster["topicList"]
    unknown = run(script_runner, ns, "topicList", "-c", "Nope", "-o", "json", ok=False)
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr == "nsctl: cluster 'Nope' not found (known: DefaultCluster)\n"
    system = as_json(run(script_runner, ns, "topicList", "--system", "-o", "json"))
    assert "DefaultCluster" in system["topicList"]
    assert "TopicTest" in run(script_runner, ns, "topicList").stdout
    clash = run(script_runner, ns, "topicList", "--system", "-c", "X", ok=False)
    assert clash.returncode == 2


def test_topic_cluster_list(script_runner, cluster):
    ns, _ = cluster
    assert run(script_runner, ns, "topicClusterList", "-t", "OnlyA", "-o", "plain").stdout == (
        "DefaultCluster\n"
    )
    data = as_json(run(script_runner, ns, "topicClusterList", "-t", "TopicTest", "-o", "json"))
    assert data == {"topic": "TopicTest", "clusters": ["DefaultCluster"]}


def test_kv_round_trip_and_aliases(script_runner, ns):
    put = run(script_runner, ns, "putKV", "-s", "app", "-k", "color", "-v", " blue ", "-o", "plain")
    assert put.stdout == "create or update kv config to namespace success.\n"
    run(script_runner, ns, "updateKvConfig", "-s", "app", "-k", "size", "-v", "L")
    assert run(script_runner, ns, "getKV", "-s", "app", "-k", "color").stdout == "blue\n"
    got = as_json(run(script_runner, ns, "getKV", "-s", "app", "-k", "size", "-o", "json"))
    assert got == {"namespace": "app", "key": "size", "value": "L"}
    listing = as_json(run(script_runner, ns, "getKVList", "-s", "app", "-o", "json"))
    assert listing == {"table": {"color": "blue", "size": "L"}}
    assert run(script_runner, ns, "getKVList", "-s", "app", "-o", "plain").stdout == (
        "color=blue\nsize=L\n"
    )
    deleted = run(script_runner, ns, "deleteKvConfig", "-s", "app", "-k", "size", "-o", "plain")
    assert deleted.stdout == "delete kv config from namespace success.\n"
    missing = run(script_runner, ns, "getKV", "-s", "app", "-k", "size", ok=False)
    assert missing.returncode == 1
    assert "size" in missing.stderr
    no_ns = run(script_runner, ns, "getKVList", "-s", "nothing", ok=False)
    assert no_ns.returncode == 1
    absent = run(script_runner, ns, "deleteKV", "-s", "app", "-k", "x", "-o", "json")
    assert as_json(absent)["results"] == [{"namesrv": ns.address, "ok": True, "existed": False}]
    assert absent.stderr == "nsctl: warning: key app/x did not exist: nothing to delete\n"
    present = run(script_runner, ns, "deleteKV", "-s", "app", "-k", "color", "-o", "json")
    assert as_json(present)["results"] == [{"namesrv": ns.address, "ok": True, "existed": True}]
    assert present.stderr == ""


def test_write_perm_commands_report_counts(script_runner, cluster):
    ns, _ = cluster
    wiped = run(script_runner, ns, "wipeWritePerm", "-b", "broker-a", "-o", "plain").stdout
    assert wiped.startswith(
        f"wipe write perm of broker[broker-a] in name server[{ns.address}] OK, "
    )
    count = int(wiped.rsplit(",", 1)[1])
    assert count >= 2
    route = as_json(run(script_runner, ns, "topicRoute", "-t", "TopicTest", "-o", "json"))
    perms = {q["brokerName"]: q["perm"] for q in route["queueDatas"]}
    assert perms == {"broker-a": 4, "broker-b": 6}
    added = as_json(run(script_runner, ns, "addWritePerm", "-b", "broker-a", "-o", "json"))
    assert added["results"][0]["addTopicCount"] == count
    # An unknown broker is an error (a typo would otherwise pass as "0 topics").
    for command in ("wipeWritePerm", "addWritePerm"):
        none = run(script_runner, ns, command, "-b", "nobody", "-o", "json", ok=False)
        assert none.returncode == 1
        assert as_json(none)["results"][0]["ok"] is False
        assert none.stderr == f"nsctl: {ns.address}: broker 'nobody' is not registered there\n"


def test_delete_topic_and_order_conf(script_runner, cluster):
    ns, _ = cluster
    run(script_runner, ns, "deleteTopic", "-t", "OnlyA", "--namesrv-only")
    gone = run(script_runner, ns, "topicRoute", "-t", "OnlyA", ok=False)
    assert gone.returncode == 1

    missing = run(script_runner, ns, "updateOrderConf", "-t", "TopicTest", "-m", "get", ok=False)
    assert missing.returncode == 1
    put = run(
        script_runner,
        ns,
        "updateOrderConf",
        "-t",
        "TopicTest",
        "-m",
        "put",
        "-v",
        "broker-a:4",
        "-o",
        "plain",
    )
    assert put.stdout == "update orderConf success. topic=[TopicTest], orderConf=[broker-a:4]\n"
    got = run(script_runner, ns, "updateOrderConf", "-t", "TopicTest", "-m", "get", "-o", "plain")
    assert got.stdout == "get orderConf success. topic=[TopicTest], orderConf=[broker-a:4] \n"
    no_value = run(script_runner, ns, "updateOrderConf", "-t", "T", "-m", "put", ok=False)
    assert no_value.returncode == 2
    deleted = run(
        script_runner, ns, "updateOrderConf", "-t", "TopicTest", "-m", "delete", "-o", "plain"
    )
    assert deleted.stdout == "delete orderConf success. topic=[TopicTest]\n"


def test_namesrv_config_commands(script_runner, ns):
    config = as_json(run(script_runner, ns, "getNamesrvConfig", "-o", "json"))[ns.address]
    assert config["orderMessageEnable"] == "false"
    updated = run(
        script_runner,
        ns,
        "updateNamesrvConfig",
        "-k",
        "orderMessageEnable",
        "-v",
        "true",
        "-o",
        "plain",
    )
    assert (
        updated.stdout == f"update name server config success![{ns.address}]\n"
        "orderMessageEnable : true\n"
    )
    plain = run(script_runner, ns, "getNamesrvConfig", "-o", "plain").stdout.splitlines()
    assert plain[0] == f"============{ns.address}============"
    assert "orderMessageEnable                                =  true" in plain
    refused = run(
        script_runner, ns, "updateNamesrvConfig", "-k", "kvConfigPath", "-v", "/tmp/x", ok=False
    )
    assert refused.returncode == 1
    assert "black list" in refused.stderr


def test_fanout_with_one_dead_nameserver(script_runner, ns):
    dead = "127.0.0.1:1"
    result = script_runner.run(
        [
            "nsctl",
            "putKV",
            "-s",
            "a",
            "-k",
            "b",
            "-v",
            "c",
            "-n",
            f"{ns.address};{dead}",
            "--timeout",
            "0.5",
            "--retries",
            "1",
        ]
    )
    assert result.returncode == 3
    assert result.stdout.strip() == f"{ns.address}: a/b = c"
    assert dead in result.stderr
    both = script_runner.run(
        ["nsctl", "getKV", "-s", "a", "-k", "b", "-n", f"{dead},{ns.address}", "--timeout", "0.5"]
    )
    assert both.returncode == 0, both.stderr
    assert both.stdout == "c\n"


def test_register_once_and_unregister(script_runner, ns):
    once = run(
        script_runner,
        ns,
        "registerBroker",
        "-c",
        "C",
        "-b",
        "b1",
        "-a",
        "127.0.0.1:20911",
        "--once",
    )
    assert "registered b1" in once.stdout
    assert "drops a broker" in once.stderr
    broker = start_broker(
        ns.address,
        "-c",
        "C",
        "-b",
        "b2",
        "-a",
        "127.0.0.1:20921",
        "--no-system-topics",
        "-t",
        "Solo:2:2:6",
        "-t",
        "Duo",
        "-o",
        "json",
    )
    event = json.loads(broker.lines[0])
    assert event["event"] == "registered" and event["brokerName"] == "b2"
    topics = as_json(run(script_runner, ns, "topicList", "-c", "C", "-o", "json"))["topicList"]
    assert sorted(topics) == ["Duo", "Solo"]
    gone = run(
        script_runner,
        ns,
        "unregisterBroker",
        "-c",
        "C",
        "-b",
        "b2",
        "-a",
        "127.0.0.1:20921",
        "-o",
        "plain",
    )
    assert gone.stdout == f"unregistered b2 (127.0.0.1:20921) from {ns.address}\n"
    assert broker.stop()[0] == 0
    bad = run(script_runner, ns, "registerBroker", "-c", "C", "-b", "b", "-a", "nope", ok=False)
    assert bad.returncode == 2
    bad_topic = run(
        script_runner,
        ns,
        "registerBroker",
        "-c",
        "C",
        "-b",
        "b",
        "-a",
        "h:1",
        "-t",
        "T:1:x:6",
        ok=False,
    )
    assert bad_topic.returncode == 2


def test_demo_runs_the_tour(script_runner):
    result = script_runner.run(["nsctl", "demo", "-o", "json"])
    assert result.returncode == 0, result.stderr
    assert "Embedded NameServer listening on 127.0.0.1:" in result.stderr
    assert '"DemoCluster"' in result.stdout
    assert '"greeting": "hello"' in result.stdout
