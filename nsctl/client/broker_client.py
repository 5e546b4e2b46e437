"""`BrokerClient` (blocking) and `AsyncBrokerClient` (asyncio): broker queries on one broker.

They ride the same transports as the NameServer clients; only the calls differ. Every call is
an operation of `nsctl.client.operations`, defined once for both.
"""

from __future__ import annotations

from typing import Any, TypeVar

from nsctl.client import operations
from nsctl.client.client import AsyncRemotingClient, Call, GuardedBuilders, RemotingClient
from nsctl.client.operations import Operation
from nsctl.protocol.broker_admin import (
    AttributeEdits,
    SubscriptionGroupConfig,
    SubscriptionGroupWrapper,
)
from nsctl.protocol.broker_models import BrokerRuntimeInfo, BrokerTopicConfig, TopicStatsTable
from nsctl.protocol.register import TopicConfig, TopicConfigSerializeWrapper

T = TypeVar("T")

ops = GuardedBuilders(operations)


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

    def execute(self, operation: Operation[T]) -> Call[T]:
        """Run any operation of `nsctl.client.operations` on this broker (the fan-out runs
        one write on many brokers this way)."""
        return self._execute(operation)

    # --- administration --------------------------------------------------------------------

    def update_and_create_topic(
        self, config: TopicConfig, attributes: str | AttributeEdits | None = None
    ) -> Call[None]:
        """Create or update the topic here (attribute edits as `+k=v,-k` text)."""
        return self._execute(ops.update_and_create_topic(config, attributes))

    def delete_topic_in_broker(self, topic: str) -> Call[None]:
        return self._execute(ops.delete_topic_in_broker(topic))

    def update_and_create_subscription_group(self, config: SubscriptionGroupConfig) -> Call[None]:
        return self._execute(ops.update_and_create_subscription_group(config))

    def delete_subscription_group(self, group: str, clean_offset: bool = False) -> Call[None]:
        return self._execute(ops.delete_subscription_group(group, clean_offset))

    def get_all_topic_config(self) -> Call[TopicConfigSerializeWrapper]:
        return self._execute(ops.get_all_topic_config())

    def get_all_subscription_group_config(self) -> Call[SubscriptionGroupWrapper]:
        return self._execute(ops.get_all_subscription_group_config())


class BrokerClient(RemotingClient, BrokerCalls):
    """A blocking client of one broker (timeouts and TLS as `NameServerClient`)."""


class AsyncBrokerClient(AsyncRemotingClient, BrokerCalls):
    """The asyncio client of one broker: every call method returns an awaitable."""
