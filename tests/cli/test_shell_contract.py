"""What the contract matrix cannot say in one cell: long outputs cut by `head`, watch with a
vanished reader and nothing to write, deadlines, the address server changing under long-running
commands, registerBroker's life, and errors that must never be tracebacks."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from nsctl.client import NameServerClient
from nsctl.server import EmbeddedNameServer
from tests.cli.conftest import NSCTL
from tests.cli.situations import (
    ENV,
    MANY_TOPICS,
    dead_address,
    live_cluster,
    nsctl,
    nsctl_into_closed_pipe,
    nsctl_reader_leaves_after,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[str]:
    with live_cluster(tmp_path_factory.mktemp("shell") / "kv.json") as cluster:
        yield cluster.address


@pytest.fixture
def ns(tmp_path) -> Iterator[EmbeddedNameServer]:
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "kv.json") as s:
        yield s


def quiet(stderr: str) -> bool:
    return not any(
        noise in stderr for noise in ("Traceback", "Exception ignored", "Broken pipe", "Error:")
    )


# --- closed pipes -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "table", "json"])
def test_head_of_three_thousand_topics_ends_quietly(live, fmt):
    outcome, lines = nsctl_reader_leaves_after(1, "topicList", "-n", live, "-o", fmt)
    assert len(lines) == 1
    assert (outcome.returncode, outcome.stderr) == (0, "")


def test_grep_q_under_pipefail_succeeds(live):
    script = f"set -o pipefail; {' '.join(NSCTL)} topicList -n {live} -o plain | grep -q T00001"
    done = subprocess.run(["bash", "-c", script], env=ENV, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert len(MANY_TOPICS) == 3000


@pytest.mark.parametrize(
    "argv", [("clusterList", "--no-stats", "-o", "plain"), ("getNamesrvConfig", "-o", "plain")]
)
def test_head_of_short_outputs_ends_quietly(live, argv):
    outcome, lines = nsctl_reader_leaves_after(1, *argv, "-n", live)
    assert lines and (outcome.returncode, outcome.stderr) == (0, "")


def test_watch_notices_a_reader_gone_while_nothing_changes(live):
    """`watch -t T | head -1`: after the first line nothing changes, so nothing is written;
    watch must still see that its reader left (within an interval) and end quietly."""
    outcome, lines = nsctl_reader_leaves_after(
        1, "watch", "-t", "T00001", "-n", live, "--interval", "0.3", timeout=30
    )
    assert json.loads(lines[0])["kind"] in ("namesrv_up", "snapshot")
    assert (outcome.returncode, outcome.stderr) == (0, "")


def test_register_broker_ends_when_its_reader_leaves(ns):
    """`registerBroker ... | head -1`: the shell waits for both; nsctl unregisters and ends."""
    outcome, lines = nsctl_reader_leaves_after(
        1, "registerBroker", "-c", "C", "-b", "piped", "-a", "127.0.0.1:35911", "-n", ns.address,
        timeout=30,
    )  # fmt: skip
    assert lines[0].startswith("registered piped")
    assert outcome.returncode == 0 and quiet(outcome.stderr)
    assert outcome.stderr.splitlines()[-1] == "unregistered piped from 1 of 1 NameServer(s)"
    assert "piped" not in brokers_on(ns.address)


@pytest.mark.parametrize("fmt", ["table", "json", "plain"])
def test_demo_into_a_closed_pipe_ends_quietly(fmt):
    done = nsctl_into_closed_pipe("demo", "-o", fmt)
    assert done.returncode == 0 and quiet(done.stderr)


# --- watch deadlines ----------------------------------------------------------------------


def test_watch_timeout_is_not_stretched_by_the_interval(live):
    started = time.monotonic()
    done = nsctl("watch", "-t", "T00001", "-n", live, "--timeout", "1", "--interval", "20")
    # Correctness, not speed: the next poll would have been 20 s away.
    assert time.monotonic() - started < 15
    assert (done.returncode, done.stderr) == (0, "")


def test_watch_until_that_did_not_hold_says_so(live):
    done = nsctl(
        "watch", "-t", "T00001", "-n", live, "--until", "absent", "--timeout", "1", "--interval",
        "0.2",
    )  # fmt: skip
    assert done.returncode == 4
    assert done.stderr == "nsctl: --until absent did not hold within 1 s\n"


# --- the address server is asked again --------------------------------------------------------


class AddressServer:
    """A real HTTP address server whose answer the test changes."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = owner.answer.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/rocketmq/nsaddr"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def two(tmp_path):
    with (
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "a.json") as a,
        EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "b.json") as b,
    ):
        yield a, b


def read_json_lines(process: subprocess.Popen, until, timeout: float = 30.0) -> list[dict]:
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"ended early: {process.stderr.read()}")
        events.append(json.loads(line))
        if until(events[-1]):
            return events
    raise AssertionError(f"not seen in {timeout} s: {events}")


def test_watch_follows_the_address_server(two):
    a, b = two
    addresses = AddressServer(a.address)
    process = subprocess.Popen(
        [*NSCTL, "watch", "--cluster", "--address-server", addresses.url, "-o", "json",
         "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "NSCTL_ADDRESS_SERVER_REFRESH": "0.5"},
    )  # fmt: skip
    try:
        read_json_lines(process, lambda e: e["kind"] == "snapshot" and e["namesrv"] == a.address)
        addresses.answer = b.address
        changed = read_json_lines(process, lambda e: e["kind"] == "namesrvs_changed")[-1]
        assert (changed["added"], changed["removed"]) == ([b.address], [a.address])
        read_json_lines(process, lambda e: e["kind"] == "snapshot" and e["namesrv"] == b.address)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
        addresses.close()
    assert process.returncode == 0


def brokers_on(address: str) -> set[str]:
    with NameServerClient(address, timeout=3) as client:
        return set(client.get_broker_cluster_info().broker_addr_table)


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_register_broker_follows_the_address_server(two):
    a, b = two
    addresses = AddressServer(a.address)
    process = subprocess.Popen(
        [*NSCTL, "registerBroker", "-c", "C", "-b", "moving", "-a", "127.0.0.1:30911",
         "--address-server", addresses.url, "-o", "json", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "NSCTL_ADDRESS_SERVER_REFRESH": "0.5"},
    )  # fmt: skip
    try:
        first = read_json_lines(process, lambda e: e["event"] == "registered")[-1]
        assert first["namesrv"] == a.address
        addresses.answer = b.address
        events = read_json_lines(
            process, lambda e: e["event"] == "registered" and e["namesrv"] == b.address
        )
        assert any(e["event"] == "namesrvs_changed" for e in events)
        wait_for(lambda: "moving" in brokers_on(b.address))
        # Its connection to the NameServer it left is closed, which drops it there.
        wait_for(lambda: "moving" not in brokers_on(a.address))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
        addresses.close()
    assert process.returncode == 0


# --- registerBroker -------------------------------------------------------------------------


def test_register_broker_json_events_and_unregister_report(ns):
    dead = dead_address()
    process = subprocess.Popen(
        [*NSCTL, "registerBroker", "-c", "C", "-b", "b1", "-a", "127.0.0.1:31911", "-i", "0",
         "-n", f"{ns.address};{dead}", "-o", "json", "--timeout", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )  # fmt: skip
    registered = read_json_lines(process, lambda e: e["event"] == "registered")[-1]
    assert {k: registered[k] for k in ("cluster", "brokerName", "brokerId", "brokerAddr")} == {
        "cluster": "C",
        "brokerName": "b1",
        "brokerId": 0,
        "brokerAddr": "127.0.0.1:31911",
    }
    assert registered["namesrv"] == ns.address
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    unregistered = {e["namesrv"]: e for e in map(json.loads, out.splitlines())}
    assert unregistered[ns.address]["event"] == "unregistered"
    assert unregistered[ns.address]["ok"] is True
    # The dead one never held the broker: nothing to undo there, and nothing waited for.
    assert unregistered[dead]["ok"] is True and unregistered[dead]["held"] is False
    assert unregistered[dead]["brokerName"] == "b1"
    # Failures to register on the dead one are reported, never a contradicting unregister line.
    assert "unregistering" not in err and quiet(err)


def test_register_broker_text_unregister_line_agrees(ns):
    dead = dead_address()
    process = subprocess.Popen(
        [*NSCTL, "registerBroker", "-c", "C", "-b", "b2", "-a", "127.0.0.1:32911",
         "-n", f"{ns.address};{dead}", "--timeout", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )  # fmt: skip
    assert "registered b2" in process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    last = err.splitlines()[-1]
    assert last == f"unregistered b2 from 1 of 1 NameServer(s); never registered on {dead}"
    assert "unregistering" not in err


def test_register_broker_gives_up_when_nothing_accepts_it():
    done = nsctl(
        "registerBroker", "-c", "C", "-b", "b3", "-a", "127.0.0.1:33911", "-n", dead_address(),
        "--give-up-after", "1", "--timeout", "0.3",
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.splitlines()[-1] == "nsctl: gave up: no NameServer accepted b3 for 1 s"
    assert quiet(done.stderr)


def test_register_once_note_is_said_once(ns):
    args = ("registerBroker", "-c", "C", "-b", "b4", "-a", "127.0.0.1:34911", "--once")
    as_json = nsctl(*args, "-n", ns.address, "-o", "json")
    assert as_json.returncode == 0 and as_json.stderr == ""
    document = json.loads(as_json.stdout)
    assert document["note"].startswith("a NameServer drops a broker")
    assert document["brokerAddr"] == "127.0.0.1:34911" and document["cluster"] == "C"
    as_text = nsctl(*args, "-n", ns.address)
    assert as_text.stderr.count("note:") == 1 and len(as_text.stderr.splitlines()) == 1


# --- telling the truth ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("scanNotActiveBrokerInterval", "6000"), ("listenPort", "1234"), ("noSuchKey", "1")],
)
def test_update_namesrv_config_reports_values_not_taken(ns, key, value):
    done = nsctl("updateNamesrvConfig", "-k", key, "-v", value, "-n", ns.address, "-o", "plain")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"nsctl: {ns.address}: did not take {key}={value} (")
    assert len(done.stderr.splitlines()) == 1


def test_update_namesrv_config_success_is_read_back(ns):
    done = nsctl("updateNamesrvConfig", "-k", "orderMessageEnable", "-v", "true", "-n", ns.address)
    assert (done.returncode, done.stderr) == (0, "")
    with NameServerClient(ns.address) as client:
        assert client.get_namesrv_config()["orderMessageEnable"] == "true"


def test_idempotent_deletes_warn_and_succeed(live):
    for argv, warning in [
        (("deleteTopic", "-t", "Nope", "--namesrv-only"), "topic Nope did not exist"),
        (("deleteKV", "-s", "ns", "-k", "nope"), "key ns/nope did not exist"),
        (
            ("unregisterBroker", "-c", "C1", "-b", "nope", "-a", "127.0.0.1:1"),
            "broker nope (id 0, 127.0.0.1:1) was not registered",
        ),
    ]:
        done = nsctl(*argv, "-n", live)
        assert done.returncode == 0, done.stderr
        assert done.stderr.startswith(f"nsctl: warning: {warning}")
        assert len(done.stderr.splitlines()) == 1


def test_delete_of_something_present_does_not_warn(ns):
    with NameServerClient(ns.address) as client:
        client.put_kv_config("app", "color", "blue")
    done = nsctl("deleteKV", "-s", "app", "-k", "color", "-n", ns.address)
    assert (done.returncode, done.stderr) == (0, "")


def test_perm_change_on_an_unknown_broker_fails(live):
    done = nsctl("wipeWritePerm", "-b", "nosuch", "-n", live, "-o", "plain")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"nsctl: {live}: broker 'nosuch' is not registered there\n"


def test_check_json_has_null_for_what_it_could_not_know(live):
    dead = dead_address()
    done = nsctl("check", "-n", f"{live};{dead}", "-o", "json", "--retries", "0")
    assert done.returncode == 4
    report = {n["namesrv"]: n for n in json.loads(done.stdout)["namesrvs"]}
    for key in ("liveMasters", "brokerAddresses", "topicCount", "routes", "latencyMs"):
        assert report[dead][key] is None
    assert report[live]["liveMasters"] == 2


def test_demo_json_is_one_document():
    done = nsctl("demo", "-o", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    steps = document["steps"]
    assert [step["command"] for step in steps][:3] == [
        "nsctl clusterList",
        "nsctl updateTopic -t Orders -c DemoCluster -r 4 -w 4 --wait 10",
        "nsctl topicRoute -t Orders",
    ]
    # The demo's brokers answer: runtime figures, and a write every NameServer shows.
    assert all(b["reachable"] for b in steps[0]["output"]["brokers"])
    assert steps[1]["output"]["exitCode"] == 0 and steps[1]["output"]["wait"]["ok"]


# --- errors, never a traceback -----------------------------------------------------------------


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_port_out_of_range_is_a_usage_error(port):
    done = nsctl("serve", "--port", port)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "0<=x<=65535" in done.stderr


def test_serve_refuses_a_kv_path_it_cannot_write(tmp_path):
    done = nsctl("serve", "--port", "0", "--kv-config-path", "/proc/kv.json", timeout=30)
    assert done.returncode == 1
    assert done.stderr.startswith("nsctl serve: KV config file /proc/kv.json cannot be written")
    assert len(done.stderr.splitlines()) == 1


def test_serve_kv_path_under_a_file_is_a_path_error(tmp_path):
    (tmp_path / "file").write_text("x")
    done = nsctl("serve", "--port", "0", "--kv-config-path", str(tmp_path / "file" / "kv.json"))
    assert done.returncode == 1
    assert "a parent of it is a file" in done.stderr and "corrupt" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("-n", "127.0.0.1:99999"), "port 99999 is outside 1..65535"),
        (("-n", ";"), "no NameServer address given in -n ';'"),
        (("--address-server", "notaurl"), "'notaurl' is not an http:// or https:// URL"),
    ],
)
def test_address_errors_are_usage_errors(argv, message):
    done = nsctl("clusterList", *argv)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.splitlines()) == 1


def test_order_conf_delete_of_an_absent_config_warns(live):
    done = nsctl("updateOrderConf", "-t", "NoOrder", "-m", "delete", "-n", live, "-o", "plain")
    assert (done.returncode, done.stdout) == (0, "delete orderConf success. topic=[NoOrder]\n")
    assert done.stderr == (
        "nsctl: warning: order config of NoOrder did not exist: nothing to delete\n"
    )
