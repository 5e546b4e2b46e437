"""registerBroker and unregisterBroker say what the NameServer really did (audit items 2 and 3):
the reports come from what each NameServer lists before and after, with the unregister rules of
`nsctl.protocol.unregister` (the ones `serve` applies), never from the request alone."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from nsctl.client import NameServerClient
from nsctl.protocol.codes import RequestCode
from tests.broker_standins import StandInBrokers
from tests.cli.conftest import NSCTL, start_broker

FRAMES_5 = Path(__file__).resolve().parents[1] / "data" / "frames-5.3.3"


@pytest.fixture
def silent_namesrv():
    """Accepts connections and reads, never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield "127.0.0.1:%d" % server.getsockname()[1]


def nsctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NSCTL, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def registered(ns):
    broker = start_broker(ns.address, "-c", "RealC", "-b", "broker-u", "-a", "127.0.0.1:20911")
    yield ns
    broker.stop()


def listed(ns, name: str) -> dict:
    with NameServerClient(ns.address) as client:
        broker = client.get_broker_cluster_info().broker_addr_table.get(name)
    return dict(broker.broker_addrs) if broker else {}


def test_a_wrong_id_reports_the_address_that_really_went(registered):
    done = nsctl("unregisterBroker", "-n", registered.address, "-c", "RealC", "-b", "broker-u",
                 "-a", "127.0.0.1:20911", "-i", "3", "-o", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["existed"] is True and result["removedIds"] == [0]
    assert listed(registered, "broker-u") == {}
    table = nsctl("unregisterBroker", "-n", registered.address, "-c", "RealC", "-b", "broker-u",
                  "-a", "127.0.0.1:20911", "-i", "3")  # fmt: skip
    assert "was not registered" in table.stderr  # the second time, nothing was left


def test_a_wrong_cluster_is_refused_before_anything_is_sent(registered):
    done = nsctl("unregisterBroker", "-n", registered.address, "-c", "OtherC", "-b", "broker-u",
                 "-a", "127.0.0.1:20911")  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "in cluster RealC, not OtherC" in done.stderr
    assert listed(registered, "broker-u") == {0: "127.0.0.1:20911"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("-c", "", "-b", "b", "-a", "127.0.0.1:1"), "-c/--clusterName must not be empty"),
        (("-c", "C", "-b", " ", "-a", "127.0.0.1:1"), "-b/--brokerName must not be empty"),
        (("-c", "C", "-b", "b", "-a", "127.0.0.1:99999"), "port 99999 is outside 1..65535"),
        (("-c", "C", "-b", "b", "-a", "nohost"), "expected host:port"),
    ],
)
def test_register_refuses_what_a_namesrv_would_ignore(ns, args, says):
    done = nsctl("registerBroker", "-n", ns.address, *args, "--once")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert says in done.stderr


def test_a_registration_the_namesrv_answers_but_does_not_hold_is_not_reported_as_done():
    """A server that answers SUCCESS to REGISTER_BROKER and lists other brokers only."""
    with StandInBrokers() as fakes:
        fake = fakes.add(answers={
            RequestCode.REGISTER_BROKER:
                (FRAMES_5 / "016_REGISTER_BROKER-master_response.bin").read_bytes(),
            RequestCode.GET_BROKER_CLUSTER_INFO:
                (FRAMES_5 / "026_GET_BROKER_CLUSTER_INFO-populated_response.bin").read_bytes(),
        })  # fmt: skip
        done = nsctl("registerBroker", "-n", fake, "-c", "C", "-b", "ignored-broker",
                     "-a", "127.0.0.1:20913", "--once", "-o", "json")  # fmt: skip
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)["results"]
    assert result["ok"] is False and "does not list ignored-broker" in result["error"]


def test_ctrl_c_against_a_silent_namesrv_unregisters_nowhere_and_ends(silent_namesrv):
    """Nothing accepted the broker, so there is nothing to unregister: no timeout to wait."""
    process = subprocess.Popen(
        [*NSCTL, "registerBroker", "-n", silent_namesrv, "-c", "C", "-b", "b",
         "-a", "127.0.0.1:20911", "--timeout", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.5)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    after = time.monotonic() - started
    assert process.returncode == 0, err
    assert f"never registered on {silent_namesrv}" in err
    # A correctness bound, not a speed target: one request alone would take 10 s.
    assert after < 5, after


def test_a_second_ctrl_c_ends_a_slow_unregistration_at_once(tmp_path):
    """The NameServer accepted the broker, then froze (SIGSTOP): unregistering would wait for
    its timeout; the second Ctrl-C ends it."""
    serve = subprocess.Popen(
        [*NSCTL, "serve", "--port", "0", "--kv-config-path", str(tmp_path / "kv.json")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        address = serve.stdout.readline().rsplit(" ", 1)[1].strip()
        broker = start_broker(address, "-c", "C", "-b", "b", "-a", "127.0.0.1:20911",
                              "--timeout", "10")  # fmt: skip
        serve.send_signal(signal.SIGSTOP)
        broker.process.send_signal(signal.SIGINT)
        time.sleep(0.5)  # it is unregistering now, from a NameServer that does not answer
        started = time.monotonic()
        broker.process.send_signal(signal.SIGINT)
        _, err = broker.process.communicate(timeout=30)
        after = time.monotonic() - started
    finally:
        serve.send_signal(signal.SIGCONT)
        serve.terminate()
        serve.wait(timeout=15)
    assert broker.process.returncode == 130
    assert err.strip().endswith("nsctl: interrupted")
    assert after < 5, after  # correctness: the unregistration alone would wait 10 s


def test_cluster_list_interval_ends_on_ctrl_c_with_exit_0(ns):
    process = subprocess.Popen(
        [*NSCTL, "clusterList", "-n", ns.address, "-i", "1", "--no-stats", "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().startswith("{")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert err == ""
