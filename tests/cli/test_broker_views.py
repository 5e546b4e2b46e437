"""clusterList, brokerStatus and topicStatus run as subprocesses against a real embedded
NameServer whose brokers are loopback stand-ins answering with a real 5.3.3 broker's frames
(or refusing, staying silent, closing mid-answer, answering garbage or an error code). The
plain text is compared with what the real mqadmin printed (tests/data/.../commands.log)."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from nsctl.cli.mqadmin.java_format import left
from tests.broker_standins import (
    FRAMES,
    captured,
    captured_table,
    refused_address,
    runtime_answer,
)
from tests.cli.broker_setup import nsctl
from tests.cli.conftest import NSCTL

LIVE_ADDR = "127.0.0.1:30921"
DEAD_ADDR = "127.0.0.1:30911"


def mqadmin_output(tag: str) -> list[str]:
    """The stdout lines mqadmin printed for the commands.log section `### [tag]`."""
    text = (FRAMES / "commands.log").read_text(encoding="utf-8")
    section = text.split(f"### [{tag}]", 1)[1]
    section = re.split(r"\n##+ ", section, maxsplit=1)[0]
    lines = section.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("frames:")) + 1
    out = [line for line in lines[start:] if not line.startswith("E| ")]
    while out and not out[-1]:
        out.pop()
    return out


def relocate(line: str, old: str, new: str, width: int) -> str:
    """`line` with the padded field `old` (width `width`) swapped for `new`."""
    return line.replace(left(old, width), left(new, width), 1)


def fresh_table(**changes: str) -> dict[str, str]:
    table = captured_table()
    # 72 s of messages: mqadmin's #Hour 0.02, whenever the test runs.
    table["earliestMessageTimeStamp"] = str(int(time.time() * 1000) - 72_000)
    table.update(changes)
    return table


# --- clusterList ----------------------------------------------------------------------------


def test_cluster_list_plain_is_mqadmins_text_for_live_and_dead_brokers(registry, stand_ins):
    live = stand_ins.add("answer", answers={28: runtime_answer(fresh_table())})
    dead = refused_address()
    registry.register("broker-a", live)
    registry.register("broker-b", dead)
    result = nsctl(registry, "clusterList", "-o", "plain")
    assert result.returncode == 0, result.stderr
    header, live_line = mqadmin_output("clusterList")
    _, dead_line = mqadmin_output("dead-clusterList")
    assert result.stdout.splitlines() == [
        header,
        relocate(live_line, LIVE_ADDR, live, 22),
        relocate(dead_line.replace("broker-a", "broker-b"), DEAD_ADDR, dead, 22),
    ]
    # The dead broker is named on stderr, one line, and does not change the exit status.
    assert result.stderr.splitlines() == [
        f"nsctl: 1 of 2 broker(s) did not answer: broker-b {dead} (id 0): cannot connect to "
        f"{dead}: " + result.stderr.split(f"cannot connect to {dead}: ", 1)[1].strip()
    ]


def test_several_dead_brokers_are_named_on_one_stderr_line(registry, stand_ins):
    """Scripts count on at most one stderr line: every silent broker shares it."""
    live = stand_ins.add("answer", answers={28: runtime_answer(fresh_table())})
    dead = [refused_address() for _ in range(3)]
    registry.register("broker-a", live)
    for index, address in enumerate(dead):
        registry.register(f"broker-d{index}", address)
    for command in (("clusterList",), ("brokerStatus", "-c", "DefaultCluster")):
        for output in ("table", "json", "plain"):
            result = nsctl(registry, *command, "-o", output)
            assert result.returncode == (0 if command[0] == "clusterList" else 3), result.stderr
            lines = result.stderr.splitlines()
            assert len(lines) == 1, (command, output, lines)
            assert lines[0].startswith("nsctl: 3 of 4 broker(s) did not answer: ")
            assert all(address in lines[0] for address in dead)
            assert live not in lines[0]


def test_cluster_list_table_shows_no_figures_for_an_unreachable_broker(registry, stand_ins):
    """The table is for people: mqadmin's placeholders (0.00, false) would read as real
    figures, so an unreachable broker's row has none; -o plain keeps mqadmin's text."""
    live = stand_ins.add("answer", answers={28: runtime_answer(fresh_table())})
    dead = refused_address()
    registry.register("broker-a", live)
    registry.register("broker-b", dead)
    for extra in ((), ("-m",)):
        result = nsctl(registry, "clusterList", *extra, "-o", "table")
        assert result.returncode == 0, result.stderr
        (dead_row,) = [line for line in result.stdout.splitlines() if dead in line]
        (live_row,) = [line for line in result.stdout.splitlines() if live in line]

        def cells(row: str) -> list[str]:
            return [cell.strip() for cell in row.strip().strip("│").split("│")]

        dead_cells, live_cells = cells(dead_row), cells(live_row)
        assert dead_cells[3] == f"{dead} (unreachable)" and live_cells[3] == live
        assert dead_cells[4:] == ["-"] * len(live_cells[4:])
        assert all(cell != "-" for cell in live_cells[4:])
        assert "false" not in dead_row and "0.00" not in dead_row


def test_cluster_list_plain_from_the_captured_answer_itself(registry, stand_ins):
    """The stand-in sends frame 002 unchanged: every column but #Hour (which depends on the
    clock) is mqadmin's, and #Hour is a 2-decimal number in its place."""
    address = stand_ins.add("answer")
    registry.register("broker-a", address)
    lines = nsctl(registry, "clusterList", "-o", "plain").stdout.splitlines()
    expected = relocate(mqadmin_output("clusterList")[1], LIVE_ADDR, address, 22)
    hour = mqadmin_output("clusterList")[0].index("#Hour")
    assert lines[1][:hour] == expected[:hour]
    assert lines[1][hour + 12 :] == expected[hour + 12 :]
    assert re.fullmatch(r"\d+\.\d\d +", lines[1][hour : hour + 12])


def test_cluster_list_more_stats_live_and_dead(registry, stand_ins):
    live = stand_ins.add(
        "answer", answers={28: captured("004_GET_BROKER_RUNTIME_INFO-clusterList-m_response")}
    )
    registry.register("broker-a", live)
    registry.register("broker-b", refused_address())
    result = nsctl(registry, "clusterList", "-m", "-o", "plain")
    header, live_line = mqadmin_output("clusterList-m")
    _, dead_line = mqadmin_output("dead-clusterList-m")
    assert result.stdout.splitlines() == [
        header,
        live_line,
        dead_line.replace("broker-a", "broker-b"),
    ]
    assert result.returncode == 0


@pytest.mark.parametrize("fault", ["silent", "half", "garbage", "error", "refused"])
def test_cluster_list_every_fault_is_a_row_and_one_stderr_line(registry, stand_ins, fault):
    good = stand_ins.add("answer", answers={28: runtime_answer(fresh_table())})
    bad = refused_address() if fault == "refused" else stand_ins.add(fault)
    registry.register("broker-a", good)
    registry.register("broker-b", bad, broker_id=0)
    for output in ("plain", "json", "table"):
        result = nsctl(registry, "clusterList", "-o", output, timeout="0.5")
        assert result.returncode == 0, result.stderr
        assert len(result.stderr.splitlines()) == 1 and bad in result.stderr
        assert "Traceback" not in result.stderr
    document = json.loads(nsctl(registry, "clusterList", "-o", "json", timeout="0.5").stdout)
    by_address = {b["address"]: b for b in document["brokers"]}
    assert by_address[good]["reachable"] is True and by_address[good]["error"] is None
    assert by_address[good]["runtime"]["brokerVersionDesc"] == "V5_3_3"
    assert by_address[bad]["reachable"] is False and by_address[bad]["runtime"] is None
    assert by_address[bad]["error"]
    assert sorted(document["clusterAddrTable"]["DefaultCluster"]) == ["broker-a", "broker-b"]


def test_cluster_list_no_stats_asks_no_broker(registry, stand_ins):
    address = stand_ins.add("answer")
    registry.register("broker-a", address)
    plain = nsctl(registry, "clusterList", "--no-stats", "-o", "plain")
    assert plain.returncode == 0 and plain.stderr == ""
    # Only the columns the NameServer knows, laid out as mqadmin lays them out.
    header = plain.stdout.splitlines()[0]
    assert header.split() == ["#Cluster", "Name", "#Broker", "Name", "#BID", "#Addr"]
    assert mqadmin_output("clusterList")[0].startswith(header)
    assert address not in plain.stdout.splitlines()[0] and address in plain.stdout
    assert "0.00" not in plain.stdout  # no placeholder figures for brokers not asked
    document = json.loads(nsctl(registry, "clusterList", "--no-stats", "-o", "json").stdout)
    assert "brokers" not in document
    table = nsctl(registry, "clusterList", "--no-stats").stdout
    assert "master" in table
    assert address not in stand_ins.requests
    clash = nsctl(registry, "clusterList", "--no-stats", "-m")
    assert clash.returncode == 2 and len(clash.stderr.splitlines()) == 1


def test_cluster_list_odd_values_as_mqadmin_reads_them(registry, stand_ins):
    odd = fresh_table(
        putTps=" 5.5",  # mqadmin splits on " " and parses "" first: IN and OUT stay 0
        timerReadBehind="7",
        timerOffsetBehind="x",  # stops the timer reading: the rest stays 0
        commitLogDiskRatio="0.125",
        brokerActive="TRUE",
    )
    del odd["ackThreadPoolQueueSize"]  # prints as N
    del odd["sendThreadPoolQueueSize"]  # prints as null
    address = stand_ins.add("answer", answers={28: runtime_answer(odd)})
    registry.register("broker-a", address)
    result = nsctl(registry, "clusterList", "-o", "plain")
    row = result.stdout.splitlines()[1]
    assert "0.00(null,0ms)" in row
    assert "0.00(0,0ms|N,0ms)" in row
    assert "7-0(0.0w, 0.0, 0.0)" in row
    assert "0.1250" in row and row.endswith("      true")
    assert result.returncode == 0
    assert result.stderr.count("\n") == 1 and "TPS" in result.stderr


def test_cluster_list_unknown_cluster_and_interval(registry, stand_ins):
    registry.register("broker-a", stand_ins.add("answer"))
    missing = nsctl(registry, "clusterList", "-c", "NoSuchCluster")
    assert missing.returncode == 1 and "NoSuchCluster" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1
    bad_interval = nsctl(registry, "clusterList", "-i", "0")
    assert bad_interval.returncode == 2
    process = subprocess.Popen(
        [*NSCTL, "clusterList", "-i", "1", "-o", "json", "-n", registry.ns.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        rounds = [json.loads(process.stdout.readline()) for _ in range(2)]
    finally:
        process.kill()
        process.communicate(timeout=10)
    assert all(r["brokers"][0]["reachable"] for r in rounds)


# --- brokerStatus ---------------------------------------------------------------------------


def test_broker_status_b_prints_every_key_as_mqadmin(stand_ins):
    address = stand_ins.add(
        "answer", answers={28: captured("005_GET_BROKER_RUNTIME_INFO-brokerStatus-b_response")}
    )
    result = nsctl(None, "brokerStatus", "-b", address, "-o", "plain")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == mqadmin_output("brokerStatus-b")
    document = json.loads(nsctl(None, "brokerStatus", "-b", address, "-o", "json").stdout)
    assert document["address"] == address and len(document["runtime"]) == 60


@pytest.mark.parametrize(
    ("fault", "code"),
    [("refused", 3), ("silent", 3), ("half", 3), ("garbage", 3), ("error", 1)],
)
def test_broker_status_b_faults_exit_codes(stand_ins, fault, code):
    address = refused_address() if fault == "refused" else stand_ins.add(fault)
    result = nsctl(None, "brokerStatus", "-b", address, "-o", "plain", timeout="0.5")
    assert result.returncode == code
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_broker_status_usage_errors():
    assert nsctl(None, "brokerStatus").returncode == 2
    both = nsctl(None, "brokerStatus", "-b", "127.0.0.1:1", "-c", "C")
    assert both.returncode == 2 and len(both.stderr.splitlines()) == 1
    bad = nsctl(None, "brokerStatus", "-b", "no-port-here")
    assert bad.returncode == 2
    assert bad.stderr == "nsctl: invalid broker address 'no-port-here': expected host:port\n"


def test_broker_status_c_every_broker_and_the_dead_one(registry, stand_ins):
    live = stand_ins.add(
        "answer", answers={28: captured("007_GET_BROKER_RUNTIME_INFO-brokerStatus-c_response")}
    )
    dead = refused_address()
    registry.register("broker-a", live)
    registry.register("broker-b", dead)
    result = nsctl(registry, "brokerStatus", "-c", "DefaultCluster", "-o", "plain")
    expected = [relocate(line, LIVE_ADDR, live, 24) for line in mqadmin_output("brokerStatus-c")]
    assert result.stdout.splitlines() == expected
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        line
        for line in result.stderr.splitlines()
        # named as every broker command names a broker: name, address, id
        if line.startswith(f"nsctl: 1 of 2 broker(s) did not answer: broker-b {dead} (id 0): ")
    ]
    assert len(result.stderr.splitlines()) == 1
    document = json.loads(
        nsctl(registry, "brokerStatus", "-c", "DefaultCluster", "-o", "json").stdout
    )
    assert {b["address"]: b["reachable"] for b in document["brokers"]} == {live: True, dead: False}
    unknown = nsctl(registry, "brokerStatus", "-c", "NoSuchCluster")
    assert unknown.returncode == 1 and len(unknown.stderr.splitlines()) == 1


# --- topicStatus ----------------------------------------------------------------------------


def test_topic_status_rows_as_mqadmin(registry, stand_ins):
    registry.register("broker-a", stand_ins.add("answer"))
    result = nsctl(registry, "topicStatus", "-t", "CapTopic", "-o", "plain")
    assert result.returncode == 0, result.stderr
    expected = mqadmin_output("topicStatus")
    lines = result.stdout.splitlines()
    assert lines[:-1] == expected[:-1]
    # Deliberately not mqadmin's constant 0.0: the sum of what the brokers report.
    assert lines[-1] == "Topic Put TPS: 58.63235612739788"
    document = json.loads(nsctl(registry, "topicStatus", "-t", "CapTopic", "-o", "json").stdout)
    assert [q["queueId"] for q in document["queues"]] == [0, 1, 2, 3]
    assert document["brokers"][0]["staticTopic"] is False
    assert nsctl(registry, "topicStatus", "-t", "CapTopic").returncode == 0


@pytest.mark.parametrize(("fault", "code"), [("refused", 3), ("silent", 3), ("error", 1)])
def test_topic_status_with_a_failing_broker(registry, stand_ins, fault, code):
    registry.register("broker-a", stand_ins.add("answer"))
    bad = refused_address() if fault == "refused" else stand_ins.add(fault)
    registry.register("broker-b", bad)
    result = nsctl(registry, "topicStatus", "-t", "CapTopic", "-o", "plain", timeout="0.5")
    assert result.returncode == code
    assert len(result.stdout.splitlines()) == 7  # broker-a's four queues are still shown
    assert (
        result.stderr.splitlines()
        == [line for line in result.stderr.splitlines() if f"broker-b {bad}" in line]
        and len(result.stderr.splitlines()) == 1
    )


def test_topic_status_unknown_topic(registry, stand_ins):
    registry.register("broker-a", stand_ins.add("answer"))
    result = nsctl(registry, "topicStatus", "-t", "NoSuchTopic")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1


def test_topic_status_route_of_another_topic(registry, stand_ins):
    """-c names the route to follow (a cluster, or as here a broker's own topic): only its
    brokers are asked, so the silent broker-b is not."""
    good = stand_ins.add("answer")
    silent = stand_ins.add("silent")
    registry.register("broker-a", good)
    registry.register("broker-b", silent)
    result = nsctl(registry, "topicStatus", "-t", "CapTopic", "-c", "broker-a", "-o", "plain")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines()[:-1] == mqadmin_output("topicStatus")[:-1]
    assert silent not in stand_ins.requests
    assert [r.ext_fields["topic"] for r in stand_ins.requests[good]] == ["CapTopic", "CapTopic"]
