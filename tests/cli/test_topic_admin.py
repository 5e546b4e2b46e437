"""Topic and group writes end to end: `nsctl` (a real process) against two real NameServers and
two stand-in brokers that register with them as 5.3.3 brokers do. Covers what each command
changes on the brokers and the NameServers, --wait, deletes that stick across periodic
registrations, mqadmin's text byte for byte (fixture commands.log, up to the addresses and
their HashSet order), partial failures, and request signing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nsctl.cli.mqadmin.java_format import hashmap_order
from nsctl.client import NameServerClient
from nsctl.protocol.acl import signature, signing_content
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE, RequestCode
from nsctl.server import EmbeddedNameServer
from nsctl.standin import StandInBrokers
from tests.cli.conftest import NSCTL, routes_everywhere

COMMANDS_LOG = (
    Path(__file__).resolve().parents[1] / "data" / "frames-topic-admin-5.3.3" / "commands.log"
)
CLUSTER = "DefaultCluster"
#: The fixture's addresses of broker-a and broker-b (the proxies mqadmin was pointed at).
FIXTURE_ADDRESSES = {"broker-a": "127.0.0.1:39921", "broker-b": "127.0.0.1:39941"}
INTERVAL = 0.3  # the stand-ins' periodic registration, so "after the next one" is quick


@dataclass
class Site:
    namesrvs: list[str]
    brokers: dict[str, str]  # broker name -> address
    stand_ins: StandInBrokers

    @property
    def n(self) -> str:
        return ";".join(self.namesrvs)

    def run(self, *args: str, ok: bool | None = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [*NSCTL, *args, "-n", self.n],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("NSCTL_")},
        )
        if ok is True:
            assert done.returncode == 0, done.stderr
        return done

    def routes(self, topic: str) -> list[dict | None]:
        return routes_everywhere(self.namesrvs, topic)

    def topics_on(self, broker: str) -> dict:
        return self.stand_ins.broker(self.brokers[broker]).tables.topics

    def groups_on(self, broker: str) -> dict:
        return self.stand_ins.broker(self.brokers[broker]).tables.groups


@pytest.fixture
def site(tmp_path) -> Iterator[Site]:
    with (
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "1.json") as one,
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "2.json") as two,
        StandInBrokers() as stand_ins,
    ):
        namesrvs = [one.address, two.address]
        brokers = {
            name: stand_ins.add(
                cluster=CLUSTER, broker_name=name, namesrv=namesrvs, register_interval=INTERVAL
            )
            for name in ("broker-a", "broker-b")
        }
        yield Site(namesrvs, brokers, stand_ins)


def fixture_output(tag: str, site: Site) -> str:
    """What mqadmin printed for the command `[tag]` of commands.log, with the fixture's broker
    addresses replaced by the stand-ins' and its per-broker lines in the order mqadmin's
    HashSet would give those addresses."""
    text = COMMANDS_LOG.read_text()
    block = text.split(f"### [{tag}]", 1)[1].split("\n\nright after", 1)[0]
    lines = block.splitlines()[3:]  # title, command line, frames
    for name, address in FIXTURE_ADDRESSES.items():
        lines = [line.replace(address, site.brokers[name]) for line in lines]
    per_broker = [line for line in lines if any(a in line for a in site.brokers.values())]
    if len(per_broker) > 1:
        # mqadmin's HashSet of master addresses, filled in its HashSet order of broker names
        order = hashmap_order(site.brokers[name] for name in hashmap_order(site.brokers))
        per_broker.sort(key=lambda line: next(i for i, a in enumerate(order) if a in line))
        at = lines.index(next(line for line in lines if line in per_broker))
        rest = [line for line in lines if line not in per_broker]
        lines = rest[:at] + per_broker + rest[at:]
    return "\n".join(lines) + "\n"


def queues(route: dict | None) -> dict[str, tuple[int, int, int]]:
    if route is None:
        return {}
    return {
        q["brokerName"]: (q["readQueueNums"], q["writeQueueNums"], q["perm"])
        for q in route["queueDatas"]
    }


def test_update_topic_on_a_cluster_reaches_every_broker_and_namesrv(site):
    done = site.run("updateTopic", "-c", CLUSTER, "-t", "AdminT", "-r", "4", "-w", "4",
                    "--wait", "5", "-o", "json")  # fmt: skip
    document = json.loads(done.stdout)
    assert [b["changed"] for b in document["brokers"]] == [True, True]
    assert document["wait"]["ok"] is True and document["exitCode"] == 0
    for route in site.routes("AdminT"):  # --wait returned: every NameServer shows it
        assert queues(route) == {"broker-a": (4, 4, 6), "broker-b": (4, 4, 6)}
    for broker in ("broker-a", "broker-b"):
        assert site.topics_on(broker)["AdminT"].read_queue_nums == 4

    again = site.run("updateTopic", "-c", CLUSTER, "-t", "AdminT", "-r", "4", "-w", "4",
                     "-o", "json")  # fmt: skip
    assert [b["changed"] for b in json.loads(again.stdout)["brokers"]] == [False, False]
    table = site.run("updateTopic", "-c", CLUSTER, "-t", "AdminT", "-r", "4", "-w", "4")
    assert table.stdout.count("no change") == 2


@pytest.mark.parametrize(
    ("tag", "args"),
    [
        ("updateTopic-c", ("-t", "AdminT", "-r", "4", "-w", "4")),
        ("updateTopic-order", ("-t", "AdminOrder", "-r", "2", "-w", "2", "-o", "true")),
        ("updateTopic-fifo", ("-t", "AdminFifo", "-a", "+message.type=FIFO")),
    ],
)
def test_update_topic_plain_is_mqadmins_text(site, tag, args):
    done = site.run("updateTopic", "-c", CLUSTER, *args, "-o", "plain")
    assert done.stdout == fixture_output(tag, site)
    assert done.stderr == ""


def test_order_topic_writes_the_order_conf_on_every_namesrv(site):
    site.run("updateTopic", "-c", CLUSTER, "-t", "AdminOrder", "-r", "2", "-w", "2",
             "-o", "true", "-o", "json")  # fmt: skip
    for address in site.namesrvs:
        with NameServerClient(address) as client:
            value = client.get_kv_config(ORDER_TOPIC_CONFIG_NAMESPACE, "AdminOrder")
        assert value == "broker-b:2;broker-a:2"  # HashSet order of the broker names


def test_update_topic_perm_keeps_the_queues_and_says_it_as_mqadmin(site):
    site.run("updateTopic", "-c", CLUSTER, "-t", "AdminT", "-r", "4", "-w", "4", "--wait", "5")
    done = site.run("updateTopicPerm", "-c", CLUSTER, "-t", "AdminT", "-p", "4",
                    "--wait", "5", "-o", "plain")  # fmt: skip
    assert done.stdout == fixture_output("updateTopicPerm-c", site)
    for route in site.routes("AdminT"):
        assert queues(route) == {"broker-a": (4, 4, 4), "broker-b": (4, 4, 4)}
    one = site.run("updateTopicPerm", "-b", site.brokers["broker-a"], "-t", "AdminT", "-p", "6",
                   "--wait", "5", "-o", "plain")  # fmt: skip
    assert one.stdout == fixture_output("updateTopicPerm-b", site)
    missing = site.run("updateTopicPerm", "-c", CLUSTER, "-t", "NoSuchTopicXYZ", "-p", "4",
                       ok=False)  # fmt: skip
    assert missing.returncode == 1 and missing.stdout == ""


def test_delete_topic_sticks_across_registrations(site):
    site.run("updateTopic", "-c", CLUSTER, "-t", "AdminT", "--wait", "5")
    done = site.run("deleteTopic", "-c", CLUSTER, "-t", "AdminT", "--wait", "5", "-o", "plain")
    assert done.stdout == fixture_output("deleteTopic-c", site)
    assert site.routes("AdminT") == [None, None]
    time.sleep(INTERVAL * 4)  # several periodic full registrations of both brokers
    assert site.routes("AdminT") == [None, None]
    assert "AdminT" not in site.topics_on("broker-a")


def test_delete_topic_namesrv_only_comes_back(site):
    site.run("updateTopic", "-c", CLUSTER, "-t", "AdminT", "--wait", "5")
    site.run("deleteTopic", "-t", "AdminT", "--namesrv-only")
    deadline = time.monotonic() + 10
    while None in site.routes("AdminT") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert None not in site.routes("AdminT")  # the brokers registered it again


def test_sub_group_lifecycle_with_retry_and_dlq_topics(site):
    done = site.run("updateSubGroup", "-c", CLUSTER, "-g", "AdminGroup", "-o", "plain")
    assert done.stdout == fixture_output("updateSubGroup-c", site).rstrip("\n")[: -len(
        "\n(the line above is not followed by a newline: mqadmin printed it without one)"
    )] + "\n"  # fmt: skip
    for broker in ("broker-a", "broker-b"):
        assert "AdminGroup" in site.groups_on(broker)
    # The group's retry topic exists once consumers used it: make it so on both brokers.
    site.run("updateTopic", "-c", CLUSTER, "-t", "%RETRY%AdminGroup", "-r", "1", "-w", "1",
             "--wait", "5")  # fmt: skip
    gone = site.run("deleteSubGroup", "-c", CLUSTER, "-g", "AdminGroup", "--wait", "5",
                    "-o", "plain")  # fmt: skip
    assert gone.stdout == fixture_output("deleteSubGroup-c", site)
    for broker in ("broker-a", "broker-b"):
        assert "AdminGroup" not in site.groups_on(broker)
        assert "%RETRY%AdminGroup" not in site.topics_on(broker)
    assert site.routes("%RETRY%AdminGroup") == [None, None]


def test_a_dead_broker_fails_only_itself(site):
    # A third master that the NameServers list but where nothing listens.
    with NameServerClient(site.namesrvs[0]) as client, NameServerClient(site.namesrvs[1]) as two:
        for c in (client, two):
            c.register_broker(cluster_name=CLUSTER, broker_name="broker-c",
                              broker_addr="127.0.0.1:1", topic_configs={})  # fmt: skip
        done = site.run("updateTopic", "-c", CLUSTER, "-t", "Partial", "-o", "json", ok=False)
    assert done.returncode == 3
    document = json.loads(done.stdout)
    by_name = {b["brokerName"]: b for b in document["brokers"]}
    assert by_name["broker-a"]["ok"] and by_name["broker-b"]["ok"]
    assert not by_name["broker-c"]["ok"] and by_name["broker-c"]["exitCode"] == 3
    assert done.stderr.count("\n") == 1 and "broker-c 127.0.0.1:1" in done.stderr
    assert "Partial" in site.topics_on("broker-a")  # the others took the change


def test_wait_names_the_namesrv_that_does_not_show_it(site, tmp_path):
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "3.json") as lone:
        # Neither broker registers with `lone`: it never shows the topic.
        done = subprocess.run(
            [*NSCTL, "updateTopic", "-c", CLUSTER, "-t", "Waited", "--wait", "1",
             "-n", f"{site.n};{lone.address}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and lone.address in done.stderr
    assert "NOT SHOWN" in done.stdout


def test_every_request_is_signed_when_keys_are_given(site):
    site.run("updateTopic", "-c", CLUSTER, "-t", "Signed", "--access-key", "rocketmq2",
             "--secret-key", "12345678")  # fmt: skip
    requests = site.stand_ins.broker(site.brokers["broker-a"]).requests
    writes = [r for r in requests if r.code == RequestCode.UPDATE_AND_CREATE_TOPIC]
    assert writes, "no write reached the broker"
    for request in writes:
        ext = dict(request.ext_fields)
        assert ext["AccessKey"] == "rocketmq2"
        sent = ext.pop("Signature")
        assert sent == signature(signing_content(ext, request.body), "12345678")


def test_usage_errors_send_nothing(site):
    before = len(site.stand_ins.broker(site.brokers["broker-a"]).requests)
    for args in (
        ("-t", "bad topic", "-c", CLUSTER),
        ("-t", "TBW102", "-c", CLUSTER),
        ("-t", "X", "-c", CLUSTER, "-p", "3"),
        ("-t", "X", "-c", CLUSTER, "-r", "0"),
        ("-t", "X", "-c", CLUSTER, "-a", "+novalue"),
        ("-t", "X"),
        ("-t", "X", "-c", CLUSTER, "-o", "maybe"),
    ):
        done = site.run("updateTopic", *args, ok=False)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == "" and done.stderr.count("\n") == 1, (args, done.stderr)
    assert len(site.stand_ins.broker(site.brokers["broker-a"]).requests) == before


def test_o_takes_order_and_the_format(site):
    done = site.run("-o", "json", "updateTopic", "-c", CLUSTER, "-t", "Both", "-o", "true")
    document = json.loads(done.stdout)  # the format from before the command
    assert [n["action"] for n in document["results"]] == ["set order conf"] * 2
    assert {n["namesrv"] for n in document["results"]} == set(site.namesrvs)
    assert all(site.topics_on(b)["Both"].order for b in ("broker-a", "broker-b"))
    plain = site.run("updateTopic", "-c", CLUSTER, "-t", "Both2", "-o", "plain", "-o", "false")
    assert "order=false" in plain.stdout


def test_register_broker_listen_answers_and_registers_its_changes(ns):
    from tests.broker_standins import refused_address
    from tests.cli.conftest import start_broker

    address = refused_address()  # a free port for the broker to listen on
    broker = start_broker(ns.address, "-c", "ListenCluster", "-b", "broker-l", "-a", address,
                          "-t", "Listened:2:2:6", "--listen", "--interval", "0.5")  # fmt: skip
    try:
        site = Site([ns.address], {"broker-l": address}, StandInBrokers())
        status = site.run("brokerStatus", "-b", address, "-o", "json")
        assert "stand-in" in json.loads(status.stdout)["runtime"]["brokerVersionDesc"]
        site.run("updateTopic", "-b", address, "-t", "Made", "-r", "3", "-w", "3", "--wait", "5")
        assert queues(site.routes("Made")[0]) == {"broker-l": (3, 3, 6)}
        site.run("deleteTopic", "-c", "ListenCluster", "-t", "Made", "--wait", "5")
        time.sleep(1.5)  # periodic registrations of what the broker holds now
        assert site.routes("Made") == [None]
        assert queues(site.routes("Listened")[0]) == {"broker-l": (2, 2, 6)}
        site.stand_ins.close()
    finally:
        code, err = broker.stop()
    assert code == 0, err
    assert "unregistered broker-l from 1 of 1" in err


def test_listen_and_once_do_not_mix(ns):
    done = subprocess.run(
        [*NSCTL, "registerBroker", "-n", ns.address, "-c", "C", "-b", "b", "-a", "127.0.0.1:1",
         "--listen", "--once"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1


ACL_FRAMES = Path(__file__).resolve().parents[1] / "data" / "frames-acl-5.3.3"


@pytest.mark.parametrize(
    ("frame", "keys", "says"),
    [
        ("003_wrongsecret_updateTopic_response.bin", ("rocketmq2", "wrong"), "'rocketmq2'"),
        ("002_unsigned_updateTopic_response.bin", (), "no access key"),
    ],
)
def test_a_refused_signature_is_one_line_naming_the_key(ns, frame, keys, says):
    """A broker with ACL on answers NO_PERMISSION (the real 5.3.3 broker's captured answer)."""
    with StandInBrokers() as stand_ins:
        refusal = (ACL_FRAMES / frame).read_bytes()
        address = stand_ins.add(
            cluster="AclCluster", broker_name="broker-acl", namesrv=[ns.address],
            answers={RequestCode.GET_TOPIC_CONFIG: refusal,
                     RequestCode.UPDATE_AND_CREATE_TOPIC: refusal},
        )  # fmt: skip
        key_options = ["--access-key", keys[0], "--secret-key", keys[1]] if keys else []
        done = subprocess.run(
            [*NSCTL, "updateTopic", "-b", address, "-t", "AclT", "-n", ns.address, *key_options],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "NO_PERMISSION" in done.stderr, done.stderr
    assert says in done.stderr


def test_a_silent_broker_costs_one_timeout_and_is_named(ns):
    with StandInBrokers() as stand_ins:
        good = stand_ins.add(cluster="Mixed", broker_name="broker-good", namesrv=[ns.address])
        silent = stand_ins.add("silent", cluster="Mixed", broker_name="broker-mute",
                               namesrv=[ns.address])  # fmt: skip
        done = subprocess.run(
            [*NSCTL, "updateTopic", "-c", "Mixed", "-t", "Quiet", "-n", ns.address,
             "--timeout", "1", "-o", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert "Quiet" in stand_ins.broker(good).tables.topics
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and f"broker-mute {silent}" in done.stderr
    by_name = {b["brokerName"]: b for b in json.loads(done.stdout)["brokers"]}
    assert by_name["broker-good"]["ok"] and not by_name["broker-mute"]["ok"]
