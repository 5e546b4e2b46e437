"""Shared by the broker-view tests: an embedded NameServer on which brokers are registered at
chosen (stand-in, silent or dead) addresses, and running nsctl against it. The fixtures
(`stand_ins`, `registry`) are in conftest.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer
from tests.broker_standins import StandInBrokers


class Registry:
    """An embedded NameServer with brokers registered at chosen addresses."""

    def __init__(self, ns: EmbeddedNameServer) -> None:
        self.ns = ns
        self._clients: list[NameServerClient] = []

    def register(self, broker_name: str, address: str, *, cluster="DefaultCluster", broker_id=0):
        client = NameServerClient(self.ns.address, timeout=3)
        self._clients.append(client)  # the registration lives as long as this connection
        client.register_broker(
            cluster_name=cluster,
            broker_name=broker_name,
            broker_addr=address,
            broker_id=broker_id,
            topic_configs={
                "CapTopic": TopicConfig("CapTopic", 4, 4),
                broker_name: TopicConfig(broker_name, 1, 1),
            },
        )

    def close(self) -> None:
        for client in self._clients:
            client.close()


def nsctl(cluster: Registry | None, *args: str, timeout: str = "1") -> subprocess.CompletedProcess:
    namesrv = ["-n", cluster.ns.address] if cluster is not None else []
    from tests.cli.conftest import NSCTL  # conftest imports this module

    return subprocess.run(
        [*NSCTL, *args, *namesrv, "--timeout", timeout],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
        timeout=60,
    )


@contextlib.contextmanager
def answering_broker(namesrv: str, *, cluster: str, broker_name: str, topic: str) -> Iterator[str]:
    """A stand-in broker that answers broker queries, registered on `namesrv` as `broker_name`
    of `cluster` with `topic`, and re-registered every 20 s (a NameServer expires a broker
    after 120 s without one) until the block ends. Yields its address."""
    with StandInBrokers() as stand_ins, NameServerClient(namesrv, timeout=3) as client:
        address = stand_ins.add("answer")
        topics = {topic: TopicConfig(topic, 4, 4, 6), broker_name: TopicConfig(broker_name, 1, 1)}

        def register() -> None:
            client.register_broker(
                cluster_name=cluster,
                broker_name=broker_name,
                broker_addr=address,
                topic_configs=topics,
            )

        register()
        stop = threading.Event()

        def keep() -> None:
            while not stop.wait(20):
                with contextlib.suppress(Exception):  # the next round tries again
                    register()

        keeper = threading.Thread(target=keep, daemon=True)
        keeper.start()
        try:
            yield address
        finally:
            stop.set()
            keeper.join(10)
