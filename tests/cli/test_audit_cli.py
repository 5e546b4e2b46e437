"""Audit findings of the CLI, each as a class: one way to name a broker that did not answer
(every broker command), -c names a cluster everywhere (topicStatus too), and KV values that
a shell argument cannot carry (`-v @FILE`, `-v -`, the frame limit)."""

from __future__ import annotations

import json
import subprocess

import pytest

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from tests.cli.conftest import NSCTL

DEAD = "127.0.0.1:1"


def nsctl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NSCTL, *args], input=stdin, capture_output=True, timeout=60, check=False
    )


@pytest.fixture
def dead_broker(ns):
    """broker-dead of cluster DeadC, registered at an address where nothing listens."""
    client = NameServerClient(ns.address)
    client.register_broker(
        cluster_name="DeadC", broker_name="broker-dead", broker_addr=DEAD,
        topic_configs={"DeadT": TopicConfig("DeadT", 1, 1), "DeadU": TopicConfig("DeadU", 1, 1)},
    )  # fmt: skip
    yield ns
    client.close()


@pytest.mark.parametrize(
    "args",
    [
        ("clusterList", "-c", "DeadC"),
        ("brokerStatus", "-c", "DeadC"),
        ("topicStatus", "-t", "DeadT"),
        ("updateTopic", "-c", "DeadC", "-t", "NewT"),
        ("updateSubGroup", "-c", "DeadC", "-g", "NewG"),
    ],
    ids=lambda a: a[0],
)
def test_every_broker_command_names_a_silent_broker_the_same_way(dead_broker, args):
    done = nsctl(*args, "-n", dead_broker.address, "--timeout", "1")
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert f"broker-dead {DEAD} (id 0): cannot connect to {DEAD}" in lines[0]


def test_topic_status_says_an_unknown_cluster_is_a_cluster(ns):
    done = nsctl("topicStatus", "-t", "AnyTopic", "-c", "Nope", "-n", ns.address)
    assert done.returncode == 1
    assert done.stderr.decode().startswith("nsctl: cluster 'Nope' not found (known: ")


def test_put_kv_takes_a_file_or_stdin_byte_for_byte(ns, tmp_path):
    text = "  leading and trailing spaces kept\nsecond line\n\u00e9\n"
    (tmp_path / "value.txt").write_text(text, encoding="utf-8")
    for args, stdin, want in (
        (("-v", f"@{tmp_path / 'value.txt'}"), None, text),
        (("-v", "-"), text.encode(), text),
        (("-v", "@@starts-with-at"), None, "@starts-with-at"),
        (("-v", "  trimmed as mqadmin does  "), None, "trimmed as mqadmin does"),
    ):
        done = nsctl("putKV", "-s", "files", "-k", "k", *args, "-n", ns.address, stdin=stdin)
        assert done.returncode == 0, done.stderr
        with NameServerClient(ns.address) as client:
            assert client.get_kv_config("files", "k") == want


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"a" * (17 * 1024 * 1024), "at most 16777216 bytes (16 MiB)"),
        (b"\xff\xfe not utf-8", "not UTF-8 text"),
    ],
)
def test_put_kv_refuses_what_cannot_be_sent_naming_why(ns, tmp_path, content, says):
    (tmp_path / "value.bin").write_bytes(content)
    done = nsctl("putKV", "-s", "files", "-k", "big", "-v", f"@{tmp_path / 'value.bin'}",
                 "-n", ns.address)  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and says in lines[0]
    missing = nsctl("putKV", "-s", "files", "-k", "big", "-v", "@/no/such/file", "-n", ns.address)
    assert missing.returncode == 2 and b"/no/such/file" in missing.stderr


def test_put_kv_json_shows_the_value_sent(ns):
    done = nsctl("putKV", "-s", "files", "-k", "j", "-v", "-", "-n", ns.address, "-o", "json",
                 stdin=b" x ")  # fmt: skip
    assert json.loads(done.stdout)["value"] == " x "


def test_a_table_title_never_wraps_on_a_pipe(ns):
    client = NameServerClient(ns.address)
    client.register_broker(
        cluster_name="C", broker_name="b", broker_addr=DEAD,
        topic_configs={"ALongTopicNameForTheTitle": TopicConfig("ALongTopicNameForTheTitle", 1, 1),
                       "Other": TopicConfig("Other", 1, 1)},
    )  # fmt: skip
    try:
        done = nsctl("topicClusterList", "-t", "ALongTopicNameForTheTitle", "-n", ns.address)
    finally:
        client.close()
    assert done.stdout.decode().splitlines()[0] == "Clusters of ALongTopicNameForTheTitle"


def test_counts_read_as_english():
    done = nsctl("topicRoute", "-t", "T", "-n", DEAD, "--retries", "0")
    assert "after 1 attempt (1 round over 1 address)" in done.stderr.decode()
    twice = nsctl("topicRoute", "-t", "T", "-n", f"{DEAD};127.0.0.1:2", "--retries", "1")
    assert "after 4 attempts (2 rounds over 2 addresses)" in twice.stderr.decode()


def test_help_of_an_unknown_command_points_to_the_list():
    done = nsctl("help", "zzzz")
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "nsctl: No such command 'zzzz'. (see 'nsctl help' for the commands)\n"
    )


def test_once_with_give_up_after_is_a_usage_error(ns):
    done = nsctl("registerBroker", "-n", ns.address, "-c", "C", "-b", "b", "-a", "127.0.0.1:9",
                 "--once", "--give-up-after", "3")  # fmt: skip
    assert done.returncode == 2 and b"--give-up-after" in done.stderr


def test_a_failed_registration_is_a_json_event_too(ns):
    # A first registration with a single topic is refused by a 5.3.3 NameServer (and serve).
    done = nsctl("registerBroker", "-n", ns.address, "-c", "C", "-b", "b", "-a", "127.0.0.1:9",
                 "--no-system-topics", "-t", "Alone", "--give-up-after", "1", "--interval", "0.2",
                 "-o", "json")  # fmt: skip
    assert done.returncode == 3
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    failed = [e for e in events if e["event"] == "register_failed"]
    assert failed and failed[0]["namesrv"] == ns.address and failed[0]["exitCode"] == 1


def test_cluster_list_no_stats_plain_prints_only_what_it_knows(dead_broker):
    done = nsctl("clusterList", "--no-stats", "-o", "plain", "-n", dead_broker.address)
    lines = done.stdout.decode().splitlines()
    assert lines[0].split() == ["#Cluster", "Name", "#Broker", "Name", "#BID", "#Addr"]
    assert lines[1].split() == ["DeadC", "broker-dead", "0", DEAD]
