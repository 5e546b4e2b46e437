"""registerBroker and unregisterBroker say what the NameServer really did (audit items 2 and 3):
the reports come from what each NameServer lists before and after, with the unregister rules of
`nsctl.protocol.unregister` (the ones `serve` applies), never from the request alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from nsctl.client import NameServerClient
from nsctl.protocol.codes import RequestCode
from tests.broker_standins import StandInBrokers
from tests.cli.conftest import NSCTL, start_broker

FRAMES_5 = Path(__file__).resolve().parents[1] / "data" / "frames-5.3.3"


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
