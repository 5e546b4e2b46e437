"""plan / apply / export end to end: `nsctl` (a real process) against real NameServers and
stand-in brokers on loopback. Covers: apply then plan is empty and a second apply changes
nothing (a hypothesis property over random files and random broker tables), export then plan
is clean (per-broker differing configs included), --prune through the brokers and the
NameServers, a broker that goes silent mid-apply (the report matches what the brokers hold),
a broker that cannot be read, and file errors naming the file, the line and the key."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from nsctl.client import NameServerClient
from nsctl.protocol.broker_admin import SubscriptionGroupConfig
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE, RequestCode
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer
from nsctl.standin import StandInBrokers
from tests.cli.conftest import NSCTL, routes_everywhere

CLUSTER = "DeclCluster"
INTERVAL = 0.3


def run(namesrv: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NSCTL, *args, "-n", namesrv],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env={k: v for k, v in os.environ.items() if not k.startswith("NSCTL_")},
    )


@dataclass
class Site:
    namesrvs: list[str]
    brokers: dict[str, str]  # broker name -> address
    stand_ins: StandInBrokers
    cluster: str = CLUSTER

    @property
    def n(self) -> str:
        return ";".join(self.namesrvs)

    def run(self, *args: str, code: int | None = 0, **kw) -> subprocess.CompletedProcess:
        done = run(self.n, *args, **kw)
        if code is not None:
            assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
        return done

    def tables(self, broker: str):
        return self.stand_ins.broker(self.brokers[broker]).tables

    def routes(self, topic: str) -> list[dict | None]:
        return routes_everywhere(self.namesrvs, topic)


def start_site(namesrvs, stand_ins, cluster=CLUSTER, topics=None, groups=None) -> Site:
    topics = topics or {}
    groups = groups or {}
    brokers = {
        name: stand_ins.add(
            cluster=cluster,
            broker_name=name,
            namesrv=namesrvs,
            register_interval=INTERVAL,
            topics=topics.get(name, ()),
            groups=groups.get(name, ()),
        )
        for name in ("broker-a", "broker-b")
    }
    return Site(list(namesrvs), brokers, stand_ins, cluster)


@pytest.fixture
def namesrvs(tmp_path) -> Iterator[list[str]]:
    with (
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "1.json") as one,
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "2.json") as two,
    ):
        yield [one.address, two.address]


@pytest.fixture
def site(namesrvs) -> Iterator[Site]:
    with StandInBrokers() as stand_ins:
        yield start_site(namesrvs, stand_ins)


def write(tmp_path: Path, text: str, name: str = "desired.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- apply, plan, apply ----------------------------------------------------------------------


def test_apply_then_plan_is_clean_and_a_second_apply_changes_nothing(site, tmp_path):
    a = site.brokers["broker-a"]
    desired = write(tmp_path, f"""
[clusters.{CLUSTER}.topics.Orders]
readQueueNums = 4
writeQueueNums = 4
order = true
attributes = {{ "message.type" = "FIFO" }}

[clusters.{CLUSTER}.groups.OrdersGroup]
retryMaxTimes = 3
consumeMessageOrderly = true

[brokers."{a}".topics.Audit]
perm = 4
""")  # fmt: skip
    plan = site.run("plan", "-f", desired, "-o", "json", code=6)
    document = json.loads(plan.stdout)
    assert document["summary"]["create"] == 5 and document["exitCode"] == 6
    created = {(c["kind"], c["name"], c["brokerName"]) for c in document["changes"]}
    assert ("topic", "Audit", "broker-a") in created and (
        "topic",
        "Audit",
        "broker-b",
    ) not in created

    done = site.run("apply", "-f", desired, "--wait", "10", "-o", "json")
    applied = json.loads(done.stdout)
    assert len(applied["changes"]) == 5 and all(
        c["ok"] and c["changed"] for c in applied["changes"]
    )
    assert applied["wait"]["ok"] is True
    for broker in ("broker-a", "broker-b"):
        orders = site.tables(broker).topics["Orders"]
        assert (orders.read_queue_nums, orders.attributes) == (4, {"message.type": "FIFO"})
        group = site.tables(broker).groups["OrdersGroup"]
        assert (group.retry_max_times, group.consume_message_orderly) == (3, True)
        assert group.consume_broadcast_enable is False  # updateSubGroup's defaults
    assert site.tables("broker-a").topics["Audit"].perm == 4
    assert "Audit" not in site.tables("broker-b").topics
    for route in site.routes("Orders"):  # --wait returned: both NameServers show it
        assert {q["brokerName"] for q in route["queueDatas"]} == {"broker-a", "broker-b"}
    # an order topic: its order config on every NameServer, as updateTopic -o true writes it
    assert {n["namesrv"] for n in applied["results"]} == set(site.namesrvs)
    for address in site.namesrvs:
        with NameServerClient(address) as client:
            value = client.get_kv_config(ORDER_TOPIC_CONFIG_NAMESPACE, "Orders")
        assert sorted(value.split(";")) == ["broker-a:4", "broker-b:4"]

    clean = site.run("plan", "-f", desired)
    assert "no change" in clean.stdout
    again = site.run("apply", "-f", desired, "-o", "json")
    assert json.loads(again.stdout)["changes"] == []
    assert site.run("apply", "-f", desired).stdout == "no change\n"
    assert site.run("apply", "-f", desired, "-o", "plain").stdout == "no change\n"
    assert site.run("apply", "-f", desired, "--dry-run").returncode == 0


def test_plan_lists_changes_field_by_field_and_what_is_not_in_the_file(site, tmp_path):
    site.run("updateTopic", "-c", CLUSTER, "-t", "Orders", "-r", "4", "-w", "4")
    site.run("updateTopic", "-c", CLUSTER, "-t", "Legacy")
    desired = write(tmp_path, f"[clusters.{CLUSTER}.topics.Orders]\nreadQueueNums = 8\n")
    document = json.loads(site.run("plan", "-f", desired, "-o", "json", code=6).stdout)
    updates = [c for c in document["changes"] if c["name"] == "Orders"]
    assert len(updates) == 2
    assert updates[0]["fields"] == {
        "readQueueNums": {"old": 4, "new": 8},
        "writeQueueNums": {"old": 4, "new": 8},
    }
    assert {i["name"] for i in document["notInFile"]} == {"Legacy"}
    # system topics and groups never appear
    names = {i["name"] for key in ("changes", "unchanged", "notInFile") for i in document[key]}
    assert names == {"Orders", "Legacy"}

    plain = site.run("plan", "-f", desired, "-o", "plain", code=6).stdout
    assert "-readQueueNums = 4\n+readQueueNums = 8\n" in plain
    assert plain.startswith("--- brokers of DeclCluster\n+++ ")
    table = site.run("plan", "-f", desired, code=6).stdout
    assert "readQueueNums 4 -> 8" in table and "--prune deletes it" in table

    # --dry-run is the plan, exit 6; nothing is written
    dry = site.run("apply", "-f", desired, "--dry-run", "-o", "json", code=6)
    assert json.loads(dry.stdout)["changes"] == document["changes"]
    assert site.tables("broker-a").topics["Orders"].read_queue_nums == 4


def test_prune_deletes_through_brokers_then_namesrvs_and_asks_first(site, tmp_path):
    site.run("updateTopic", "-c", CLUSTER, "-t", "Legacy", "--wait", "10")
    site.run("updateSubGroup", "-c", CLUSTER, "-g", "OldGroup")
    site.run("updateTopic", "-c", CLUSTER, "-t", "%RETRY%OldGroup", "-r", "1", "-w", "1")
    desired = write(tmp_path, f"[clusters.{CLUSTER}]\n")

    refused = site.run("apply", "-f", desired, "--prune", code=2)  # stdin is not a terminal
    assert refused.stderr.count("\n") == 1 and "--yes" in refused.stderr
    assert "Legacy" in site.tables("broker-a").topics

    plan = json.loads(site.run("plan", "-f", desired, "--prune", "-o", "json", code=6).stdout)
    assert {(c["action"], c["name"]) for c in plan["changes"]} == {
        ("delete", "Legacy"),
        ("delete", "OldGroup"),
    }
    done = json.loads(site.run("apply", "-f", desired, "--prune", "--yes", "-o", "json").stdout)
    assert {n["namesrv"] for n in done["results"]} == set(site.namesrvs)
    for broker in ("broker-a", "broker-b"):
        assert "Legacy" not in site.tables(broker).topics
        assert "OldGroup" not in site.tables(broker).groups
        assert "%RETRY%OldGroup" not in site.tables(broker).topics  # as deleteSubGroup -c
    assert site.routes("Legacy") == [None, None]
    assert site.routes("%RETRY%OldGroup") == [None, None]
    again = json.loads(site.run("apply", "-f", desired, "--prune", "--yes", "-o", "json").stdout)
    assert again["changes"] == []


# --- export ----------------------------------------------------------------------------------


def test_export_then_plan_is_clean_with_brokers_that_differ(namesrvs, tmp_path):
    topics = {
        "broker-a": [TopicConfig("Same", 4, 4, 6), TopicConfig("Differs", 8, 8, 6),
                     TopicConfig("OnlyA", 2, 2, 4, order=True,
                                 attributes={"message.type": "FIFO"})],
        "broker-b": [TopicConfig("Same", 4, 4, 6), TopicConfig("Differs", 4, 4, 6)],
    }  # fmt: skip
    groups = {
        "broker-a": [SubscriptionGroupConfig("G", retry_max_times=3)],
        "broker-b": [SubscriptionGroupConfig("G", retry_max_times=5)],
    }
    with StandInBrokers() as stand_ins:
        site = start_site(namesrvs, stand_ins, topics=topics, groups=groups)
        exported = site.run("export", "-c", CLUSTER).stdout
        a, b = site.brokers["broker-a"], site.brokers["broker-b"]
        assert f"[clusters.{CLUSTER}.topics.Same]" in exported
        assert f'[brokers."{a}".topics.Differs]' in exported
        assert f'[brokers."{b}".topics.Differs]' in exported
        assert f'[brokers."{a}".topics.OnlyA]' in exported
        assert f'[brokers."{b}".groups.G]' in exported
        for system in ("TBW102", "SCHEDULE_TOPIC_XXXX", "TOOLS_CONSUMER", "broker-a", CLUSTER):
            assert f".{system}]" not in exported
        path = write(tmp_path, exported, "exported.toml")
        plan = site.run("plan", "-f", path, "--prune", "-o", "json")
        document = json.loads(plan.stdout)
        assert document["changes"] == [] and document["notInFile"] == []
        assert {d["name"] for d in document["disagreements"]} == {"Differs", "OnlyA", "G"}
        table = site.run("plan", "-f", path).stdout
        assert "disagree" in table and "no change" in table

        as_json = site.run("export", "-o", "json").stdout  # every cluster
        path = write(tmp_path, as_json, "exported.data")  # JSON by its content
        site.run("plan", "-f", path, "--prune")
        site.run("apply", "-f", "-", "--prune", "--yes", stdin=as_json)  # stdin, no change
        assert "Differs" in site.tables("broker-b").topics


# --- failures ---------------------------------------------------------------------------------


def test_a_broker_that_goes_silent_mid_apply_is_reported_as_it_is(site, tmp_path):
    """broker-b takes two writes, then answers nothing: the report says which changes each
    broker took, and the brokers hold exactly those."""
    stand_in = site.stand_ins.broker(site.brokers["broker-b"])
    answer = stand_in.tables.answer
    writes = itertools.count(1)

    def answer_then_go_silent(request, now_ms):
        reply = answer(request, now_ms)
        if request.code == RequestCode.UPDATE_AND_CREATE_TOPIC and next(writes) == 2:
            stand_in.behaviour = "silent"
        return reply

    stand_in.tables.answer = answer_then_go_silent
    names = [f"T{i}" for i in range(5)]
    desired = write(tmp_path, "".join(f"[clusters.{CLUSTER}.topics.{n}]\n" for n in names))
    done = site.run("apply", "-f", desired, "-o", "json", "--timeout", "1", code=3)
    document = json.loads(done.stdout)
    assert done.stderr.count("\n") == 1 and "broker-b" in done.stderr
    by_broker = {"broker-a": {}, "broker-b": {}}
    for change in document["changes"]:
        by_broker[change["brokerName"]][change["name"]] = change
    assert all(c["ok"] for c in by_broker["broker-a"].values())
    assert set(site.tables("broker-a").topics) >= set(names)
    b = by_broker["broker-b"]
    took = {n for n, c in b.items() if c["ok"]}
    assert len(took) == 2 and took <= set(site.tables("broker-b").topics)
    failed = [n for n, c in b.items() if not c["ok"]]
    assert len(failed) == 3 and not set(failed) & set(site.tables("broker-b").topics)
    assert sum(1 for n in failed if b[n].get("sent") is False) == 2  # after the one timed out
    assert all(b[n]["exitCode"] == 3 for n in failed)


def test_plan_cannot_read_a_broker_exit_3_naming_it(namesrvs, tmp_path):
    with StandInBrokers() as stand_ins:
        good = stand_ins.add(cluster="Mixed", broker_name="broker-good", namesrv=namesrvs)
        silent = stand_ins.add("silent", cluster="Mixed", broker_name="broker-mute",
                               namesrv=namesrvs)  # fmt: skip
        desired = write(tmp_path, "[clusters.Mixed.topics.X]\n")
        for command in ("plan", "apply", "export"):
            args = ("-f", desired) if command != "export" else ("-c", "Mixed")
            done = run(";".join(namesrvs), command, *args, "--timeout", "1")
            assert done.returncode == 3, (command, done.stderr)
            assert done.stdout == ""
            assert done.stderr.count("\n") == 1 and f"broker-mute {silent}" in done.stderr
        assert "X" not in stand_ins.broker(good).tables.topics  # nothing was written


def test_unknown_cluster_and_unnamed_cluster(site, tmp_path):
    desired = write(tmp_path, "[clusters.NoSuchCluster.topics.X]\n")
    missing = site.run("plan", "-f", desired, code=1)
    assert "NoSuchCluster" in missing.stderr and missing.stderr.count("\n") == 1
    desired = write(tmp_path, f"[clusters.{CLUSTER}.topics.X]\n")
    other = site.run("plan", "-f", desired, "-c", "Elsewhere", code=2)
    assert "Elsewhere" in other.stderr
    unknown = write(tmp_path, '[brokers."127.0.0.1:1".topics.X]\n', "b.toml")
    done = site.run("plan", "-f", unknown, code=1)
    assert "b.toml:1" in done.stderr and "127.0.0.1:1" in done.stderr


BAD_FILES = [
    ("[clusters.C.topics.T]\nread = 1\n", "bad.toml:2: clusters.C.topics.T.read: unknown key"),
    ("[clusters.C.topics.T]\nreadQueueNums = 8\nperm = 3\n", "bad.toml:3: clusters.C.topics.T"),
    ("[clusters.C.topics.T]\n\nbogus = 1\n", "bad.toml:3: clusters.C.topics.T.bogus: unknown key"),
    ("[clusters.C.topics.T]\nreadQueueNums = 0\n", "bad.toml:2: clusters.C.topics.T.readQueueNums"),
    ("[clusters.C.topics.T]\norder = \"yes\"\n", "bad.toml:2: clusters.C.topics.T.order"),
    ('[clusters.C.topics.T]\nattributes = { "no.such" = "x" }\n',
     "bad.toml:2: clusters.C.topics.T.attributes: unsupported key: no.such"),
    ("[clusters.C.topics.T]\n[clusters.C.topics.T]\n", "bad.toml:2:"),
    ("[clusters.C.topics.TBW102]\n", "bad.toml:1: clusters.C.topics.TBW102"),
    ('[clusters.C.topics."bad name"]\n', 'bad.toml:1: clusters.C.topics."bad name"'),
    ("[clusters.C.groups.G]\nretryMaxTimes = 2\nretryMaxTimes = 3\n", "bad.toml:3:"),
    ("[clusters.C.groups.G]\nconsumeEnable = 1\n", "bad.toml:2: clusters.C.groups.G.consumeEnable"),
    ("[clusters.C.groups.TOOLS_CONSUMER]\n", "bad.toml:1: clusters.C.groups.TOOLS_CONSUMER"),
    ("[clusters.C.groups.G]\nnotifyConsumerIdsChanged = true\n"
     "notifyConsumerIdsChangedEnable = true\n", "bad.toml:3: clusters.C.groups.G"),
    ("[clusters.C.groups.G]\ngroupRetryPolicy = { type = \"LINEAR\" }\n",
     "bad.toml:2: clusters.C.groups.G.groupRetryPolicy.type"),
    ("[clusters.C]\ntopcs = {}\n", "bad.toml:2: clusters.C.topcs: unknown key"),
    ("[cluster.C]\n", "bad.toml:1: cluster: unknown key"),
    ('[brokers."nowhere".topics.T]\n', 'bad.toml:1: brokers.nowhere'),
    ("[clusters.C.topics.T\n", "bad.toml:1: invalid TOML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "says"), BAD_FILES)
def test_file_errors_name_file_line_and_key(tmp_path, text, says):
    path = write(tmp_path, text, "bad.toml")
    done = run("127.0.0.1:1", "plan", "-f", path)  # nothing is asked: the file comes first
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"nsctl: {tmp_path}/{says}"), done.stderr


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"clusters": {"C": {"topics": {\n"T": {"perm": 6},\n"T": {}}}}}', "bad.json:3:"),
        ('{"clusters": {"C": {"topics": {\n  "T": {\n    "perm": 5}}}}}',
         "bad.json:3: clusters.C.topics.T.perm"),
        ('{"clusters": {"C": {"groups": {\n  "G": {\n\n "retryQueueNums": -1}}}}}',
         "bad.json:4: clusters.C.groups.G.retryQueueNums"),
    ],
)  # fmt: skip
def test_json_file_errors_name_file_line_and_key(tmp_path, text, says):
    path = write(tmp_path, text, "bad.json")
    done = run("127.0.0.1:1", "apply", "-f", path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"nsctl: {tmp_path}/{says}"), done.stderr


# --- the property ---------------------------------------------------------------------------

TOPIC_NAMES = ["T1", "T2", "T3", "T4"]
GROUP_NAMES = ["G1", "G2", "G3"]

topic_values = st.fixed_dictionaries(
    {},
    optional={
        "readQueueNums": st.integers(1, 4),
        "writeQueueNums": st.integers(1, 4),
        "perm": st.sampled_from([2, 4, 6]),
        "order": st.booleans(),
        "attributes": st.dictionaries(
            st.sampled_from(["message.type", "reserve.time"]),
            st.sampled_from(["NORMAL", "FIFO"]),
            max_size=1,
        ).map(lambda d: {k: (v if k == "message.type" else "3600") for k, v in d.items()}),
    },
)
group_values = st.fixed_dictionaries(
    {},
    optional={
        "consumeEnable": st.booleans(),
        "consumeMessageOrderly": st.booleans(),
        "retryQueueNums": st.integers(0, 2),
        "retryMaxTimes": st.integers(-1, 16),
        "consumeBroadcastEnable": st.booleans(),
    },
)
section = st.fixed_dictionaries(
    {
        "topics": st.dictionaries(st.sampled_from(TOPIC_NAMES), topic_values, max_size=3),
        "groups": st.dictionaries(st.sampled_from(GROUP_NAMES), group_values, max_size=2),
    }
)
held_topic = st.builds(
    lambda name, r, w, perm, order, fifo: TopicConfig(
        name, r, w, perm, order=order, attributes={"message.type": "FIFO"} if fifo else {}
    ),
    st.sampled_from(TOPIC_NAMES),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from([2, 4, 6]),
    st.booleans(),
    st.booleans(),
)
held_group = st.builds(
    lambda name, retries, orderly: SubscriptionGroupConfig(
        name, retry_max_times=retries, consume_message_orderly=orderly
    ),
    st.sampled_from(GROUP_NAMES),
    st.integers(0, 16),
    st.booleans(),
)
holding = st.tuples(st.lists(held_topic, max_size=3), st.lists(held_group, max_size=2))


@pytest.fixture(scope="module")
def one_namesrv(tmp_path_factory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("property") / "kv.json"
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=path) as ns:
        yield ns.address


_examples = itertools.count(1)


@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # bounded: a failing example is printed as is
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    cluster=section,
    only_a=st.none() | section,
    held_a=holding,
    held_b=holding,
    prune=st.booleans(),
)
def test_apply_reaches_the_file_whatever_the_brokers_held(
    one_namesrv, tmp_path_factory, cluster, only_a, held_a, held_b, prune
):
    name = f"Prop{next(_examples)}"
    topics = {"broker-a": held_a[0], "broker-b": held_b[0]}
    groups = {"broker-a": held_a[1], "broker-b": held_b[1]}
    with StandInBrokers() as stand_ins:
        site = start_site([one_namesrv], stand_ins, name, topics, groups)
        document = {"clusters": {name: cluster}}
        if only_a is not None:
            document["brokers"] = {site.brokers["broker-a"]: only_a}
        path = tmp_path_factory.mktemp("file") / "desired.toml"
        path.write_text(tomli_w.dumps(document))
        extra = ("--prune", "--yes") if prune else ()

        first = site.run("apply", "-f", str(path), *extra, "-o", "json")
        assert all(c["ok"] for c in json.loads(first.stdout)["changes"])
        pruned = extra[:1]
        plan = json.loads(site.run("plan", "-f", str(path), *pruned, "-o", "json").stdout)
        assert plan["changes"] == []
        second = json.loads(site.run("apply", "-f", str(path), *extra, "-o", "json").stdout)
        assert second["changes"] == []
        # and the brokers hold what the file says
        for broker in ("broker-a", "broker-b"):
            wanted = dict(cluster["topics"])
            if broker == "broker-a" and only_a is not None:
                wanted.update(only_a["topics"])
            held = site.tables(broker).topics
            for topic, values in wanted.items():
                assert held[topic].read_queue_nums == values.get("readQueueNums", 8)
                assert held[topic].perm == values.get("perm", 6)
                assert (held[topic].attributes or {}) == values.get("attributes", {})
            if prune:
                user = {t for t in held if t in TOPIC_NAMES}
                assert user == set(wanted)


def run_on_a_terminal(namesrv: str, *args: str, answer: str) -> tuple[int, str]:
    """nsctl with stdin a terminal (a pty) that types `answer`; its exit code and stderr."""
    import pty

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*NSCTL, *args, "-n", namesrv],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(controller, answer.encode() + b"\n")
        _, err = process.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    return process.returncode, err


def test_prune_asks_on_a_terminal(site, tmp_path):
    site.run("updateTopic", "-c", CLUSTER, "-t", "Legacy")
    desired = write(tmp_path, f"[clusters.{CLUSTER}.topics.Kept]\n")
    code, err = run_on_a_terminal(site.n, "apply", "-f", desired, "--prune", answer="n")
    assert code == 1 and "Delete topic Legacy on broker-a" in err and "not confirmed" in err
    assert (
        "Legacy" in site.tables("broker-a").topics and "Kept" not in site.tables("broker-a").topics
    )
    code, err = run_on_a_terminal(site.n, "apply", "-f", desired, "--prune", answer="y")
    assert code == 0, err
    assert (
        "Legacy" not in site.tables("broker-a").topics and "Kept" in site.tables("broker-b").topics
    )


def test_a_broker_section_alone_plans_only_that_broker(site, tmp_path):
    site.run("updateTopic", "-c", CLUSTER, "-t", "Elsewhere")
    a = site.brokers["broker-a"]
    desired = write(tmp_path, f'[brokers."{a}".topics.Mine]\n')
    document = json.loads(site.run("plan", "-f", desired, "--prune", "-o", "json", code=6).stdout)
    assert [b["brokerName"] for b in document["brokers"]] == ["broker-a"]
    assert {(c["action"], c["name"]) for c in document["changes"]} == {
        ("create", "Mine"),
        ("delete", "Elsewhere"),
    }


def test_a_system_topic_of_a_broker_is_refused_before_anything_is_sent(site, tmp_path):
    desired = write(
        tmp_path, f"[clusters.{CLUSTER}.topics.T]\n[clusters.{CLUSTER}.topics.broker-b]\n"
    )
    before = len(site.stand_ins.broker(site.brokers["broker-b"]).requests)
    done = site.run("apply", "-f", desired, code=2)
    assert done.stderr.count("\n") == 1 and f"desired.toml:2: clusters.{CLUSTER}" in done.stderr
    assert "system topic of broker broker-b" in done.stderr
    assert len(site.stand_ins.broker(site.brokers["broker-b"]).requests) == before


def test_pruning_on_one_master_keeps_the_route_of_the_other(site, tmp_path):
    site.run("updateTopic", "-c", CLUSTER, "-t", "Split", "-r", "2", "-w", "2", "--wait", "10")
    a = site.brokers["broker-a"]
    desired = write(tmp_path, f"""[clusters.{CLUSTER}]
[brokers."{a}".topics.Split]
readQueueNums = 2
writeQueueNums = 2
""")  # fmt: skip
    done = json.loads(site.run("apply", "-f", desired, "--prune", "--yes", "-o", "json").stdout)
    assert [(c["action"], c["brokerName"]) for c in done["changes"]] == [("delete", "broker-b")]
    assert done["results"] == []  # broker-a keeps it: the cluster's route stays
    assert (
        "Split" not in site.tables("broker-b").topics and "Split" in site.tables("broker-a").topics
    )
    for route in site.routes("Split"):
        assert "broker-a" in {q["brokerName"] for q in route["queueDatas"]}
