"""mqadmin 5.3.3's text for topic and group writes: the `TopicConfig [...]` and
`SubscriptionGroupConfig{...}` lines (Java's toString of each), and the per-broker success
lines of updateTopic, updateTopicPerm, deleteTopic, updateSubGroup and deleteSubGroup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nsctl.cli.mqadmin.java_format import hashmap_order, java_str
from nsctl.protocol.codes import perm_to_string


def java_map(values: Mapping[str, Any] | None) -> str:
    """`HashMap.toString`: `{k=v, k=v}` in the map's iteration order; `null` for no map."""
    if values is None:
        return "null"
    return "{" + ", ".join(f"{k}={java_str(values[k])}" for k in hashmap_order(values)) + "}"


def topic_config(
    topic: str,
    read_queue_nums: int,
    write_queue_nums: int,
    perm: int,
    *,
    topic_filter_type: str = "SINGLE_TAG",
    topic_sys_flag: int = 0,
    order: bool = False,
    attributes: Mapping[str, str] | None = None,
) -> str:
    """`TopicConfig.toString`. mqadmin prints the attributes as given on its command line
    (`+message.type=FIFO`), so pass the edits, not the resulting attributes."""
    return (
        f"TopicConfig [topicName={topic}, readQueueNums={read_queue_nums}, "
        f"writeQueueNums={write_queue_nums}, perm={perm_to_string(perm)}, "
        f"topicFilterType={topic_filter_type}, topicSysFlag={topic_sys_flag}, "
        f"order={java_str(order)}, attributes={java_map(attributes or {})}]"
    )


def _helper(name: str, fields: Mapping[str, Any] | None) -> str:
    """Guava's `MoreObjects.toStringHelper`: `Name{a=1, b=null}`; null for no object."""
    if fields is None:
        return "null"
    return name + "{" + ", ".join(f"{k}={_value(v)}" for k, v in fields.items()) + "}"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return java_str(value)


def subscription_group_config(config: Any) -> str:
    """`SubscriptionGroupConfig.toString` of a typed config (mqadmin prints it with no final
    newline)."""
    policy = config.group_retry_policy
    exponential = policy.exponential_retry_policy
    customized = policy.customized_retry_policy
    policy_text = _helper(
        "GroupRetryPolicy",
        {
            "type": policy.type,
            "exponentialRetryPolicy": _helper("ExponentialRetryPolicy", exponential),
            "customizedRetryPolicy": _helper("CustomizedRetryPolicy", customized),
        },
    )
    subscriptions = config.subscription_data_set
    return (
        f"SubscriptionGroupConfig{{groupName={config.group_name}, "
        f"consumeEnable={java_str(config.consume_enable)}, "
        f"consumeFromMinEnable={java_str(config.consume_from_min_enable)}, "
        f"consumeBroadcastEnable={java_str(config.consume_broadcast_enable)}, "
        f"consumeMessageOrderly={java_str(config.consume_message_orderly)}, "
        f"retryQueueNums={config.retry_queue_nums}, retryMaxTimes={config.retry_max_times}, "
        f"groupRetryPolicy={policy_text}, brokerId={config.broker_id}, "
        f"whichBrokerWhenConsumeSlowly={config.which_broker_when_consume_slowly}, "
        f"notifyConsumerIdsChangedEnable={java_str(config.notify_consumer_ids_changed_enable)}, "
        f"groupSysFlag={config.group_sys_flag}, "
        f"consumeTimeoutMinute={config.consume_timeout_minute}, "
        f"subscriptionDataSet={'null' if subscriptions is None else _value(subscriptions)}, "
        f"attributes={java_map(config.attributes)}}}"
    )


def create_topic_line(address: str) -> str:
    return f"create topic to {address} success."


def order_conf_line(order_conf: str, *, cluster: bool) -> str:
    scope = "cluster" if cluster else "broker"
    return f"set {scope} orderConf. isOrder=true, orderConf=[{order_conf}]"


def update_perm_line(old: int, new: int, address: str) -> str:
    return f"update topic perm from {old} to {new} in {address} success."


def delete_topic_lines(topic: str, cluster: str) -> list[str]:
    return [
        f"delete topic [{topic}] from cluster [{cluster}] success.",
        f"delete topic [{topic}] from NameServer success.",
    ]


def create_group_line(address: str) -> str:
    return f"create subscription group to {address} success."


def delete_group_line(group: str, address: str, cluster: str | None) -> str:
    where = f" in cluster [{cluster}]" if cluster is not None else ""
    return f"delete subscription group [{group}] from broker [{address}]{where} success."
