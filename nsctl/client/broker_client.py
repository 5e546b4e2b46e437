"""`BrokerClient` (blocking) and `AsyncBrokerClient` (asyncio): broker queries on one broker.

They ride the same transports as the NameServer clients; only the calls differ. Every call is
an operation of `nsctl.client.operations`, defined once for both.
"""

from __future__ import annotations

from typing import Any

from nsctl.client import operations as ops
from nsctl.client.client import AsyncRemotingClient, Call, RemotingClient
from nsctl.client.operations import Operation
from nsctl.protocol.broker_models import BrokerRuntimeInfo, BrokerTopicConfig, TopicStatsTable


class BrokerCalls:
    """Every broker query, written once for both clients."""

    address: str

    def _execute(self, operation: Operation[Any]) -> Any:
        raise NotImplementedError  # pragma: no cover - each client defines it

    def get_broker_runtime_info(self) -> Call[BrokerRuntimeInfo]:
        """The broker's runtime figures (what `brokerStatus` and `clusterList` show)."""
        return self._execute(ops.get_broker_runtime_info())

    def get_topic_stats_info(self, topic: str) -> Call[TopicStatsTable]:
        """Min/max offsets and last update of each of the topic's queues on this broker."""
        return self._execute(ops.get_topic_stats_info(topic))

    def get_topic_config(self, topic: str) -> Call[BrokerTopicConfig]:
        """The topic's config here; `TopicNotFoundError` when the broker does not have it."""
        return self._execute(ops.get_topic_config(topic))


class BrokerClient(RemotingClient, BrokerCalls):
    """A blocking client of one broker (timeouts and TLS as `NameServerClient`)."""


class AsyncBrokerClient(AsyncRemotingClient, BrokerCalls):
    """The asyncio client of one broker: every call method returns an awaitable."""
