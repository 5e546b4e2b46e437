"""Shared by the broker-view tests: an embedded NameServer on which brokers are registered at
chosen (stand-in, silent or dead) addresses, and running nsctl against it. The fixtures
(`stand_ins`, `registry`) are in conftest.py."""

from __future__ import annotations

import os
import subprocess

from nsctl.client import NameServerClient
from nsctl.protocol.register import TopicConfig
from nsctl.server import EmbeddedNameServer


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
