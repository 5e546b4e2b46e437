"""Fixtures for CLI tests: a real server, and brokers registered by `nsctl registerBroker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from nsctl.server import EmbeddedNameServer
from tests.broker_standins import StandInBrokers
from tests.cli.broker_setup import Registry

NSCTL = [sys.executable, "-m", "nsctl.cli.main"]


@pytest.fixture(autouse=True)
def venv_scripts_on_path(monkeypatch):
    """Console scripts live beside the interpreter; CI runs pytest without activating the venv."""
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture
def ns(tmp_path) -> Iterator[EmbeddedNameServer]:
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "kv.json") as s:
        yield s


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("NAMESRV_ADDR", "NSCTL_ADDRESS_SERVER_URL", "ROCKETMQ_NAMESRV_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@dataclass
class Broker:
    process: subprocess.Popen
    lines: list[str]

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=15)
        return self.process.returncode, err


def start_broker(namesrv: str, *args: str, count: int = 1) -> Broker:
    """Run `nsctl registerBroker` and wait for its `registered ...` line per NameServer."""
    process = subprocess.Popen(
        [*NSCTL, "registerBroker", "-n", namesrv, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    deadline = time.monotonic() + 15
    while len(lines) < count:
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=5)
            raise AssertionError(f"registerBroker exited early: {err}")
        lines.append(line.rstrip("\n"))
        assert time.monotonic() < deadline, "registerBroker did not register in time"
    return Broker(process, lines)


@pytest.fixture
def cluster(ns) -> Iterator[tuple[EmbeddedNameServer, list[Broker]]]:
    """broker-a master + slave and broker-b master in DefaultCluster, kept registered."""
    brokers = [
        start_broker(
            ns.address,
            "-c",
            "DefaultCluster",
            "-b",
            "broker-a",
            "-a",
            "127.0.0.1:10911",
            "-t",
            "TopicTest:4:4:6",
            "-t",
            "OnlyA",
        ),
        start_broker(
            ns.address,
            "-c",
            "DefaultCluster",
            "-b",
            "broker-a",
            "-a",
            "127.0.0.1:10921",
            "-i",
            "1",
            "-t",
            "TopicTest:4:4:6",
            "-t",
            "OnlyA",
        ),
        start_broker(
            ns.address,
            "-c",
            "DefaultCluster",
            "-b",
            "broker-b",
            "-a",
            "127.0.0.1:10931",
            "-t",
            "TopicTest:8:8:6",
        ),
    ]
    yield ns, brokers
    for broker in brokers:
        if broker.process.poll() is None:
            broker.stop()


@pytest.fixture
def stand_ins() -> Iterator[StandInBrokers]:
    with StandInBrokers() as brokers:
        yield brokers


@pytest.fixture
def registry(tmp_path) -> Iterator[Registry]:
    with EmbeddedNameServer(host="127.0.0.1", port=0, kv_config_path=tmp_path / "kv.json") as ns:
        registered = Registry(ns)
        yield registered
        registered.close()


def routes_everywhere(namesrvs: list[str], topic: str) -> list[dict | None]:
    """The topic's route as each NameServer answers it (wire form), None where it has none."""
    from nsctl.client import NameServerClient, TopicNotFoundError

    found: list[dict | None] = []
    for address in namesrvs:
        with NameServerClient(address) as client:
            try:
                found.append(client.query_topic_route_info(topic).to_wire())
            except TopicNotFoundError:
                found.append(None)
    return found
