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
