"""The pure parts of declarative topics and groups, without sockets: the file's parser (keys,
defaults, positions), the plan of one broker's tables, and export -> file -> plan being clean
for any holdings (a hypothesis property, in memory)."""

from __future__ import annotations

import json

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.declarative import diff, spec
from nsctl.protocol.broker_admin import SubscriptionGroupConfig, system_groups
from nsctl.protocol.register import TopicConfig

A = diff.Broker("C", "broker-a", "10.0.0.1:10911")
B = diff.Broker("C", "broker-b", "10.0.0.2:10911")


def test_defaults_are_mqadmins():
    state = spec.parse("[clusters.C.topics.T]\n[clusters.C.groups.G]\n", "f.toml")
    topic = state.clusters["C"].topics["T"]
    assert (topic.read_queue_nums, topic.write_queue_nums, topic.perm, topic.order) == (
        8,
        8,
        6,
        False,
    )
    group = state.clusters["C"].groups["G"]
    assert group.consume_broadcast_enable is False and group.consume_from_min_enable is False
    assert group.retry_max_times == 16 and group.consume_enable is True


def test_json_and_toml_read_alike():
    text = '[clusters.C.topics.T]\nperm = 4\nattributes = { "message.type" = "FIFO" }\n'
    as_json = json.dumps(
        {"clusters": {"C": {"topics": {"T": {"perm": 4, "attributes": {"message.type": "FIFO"}}}}}}
    )
    assert (
        spec.parse(text).clusters["C"].topics
        == spec.parse(as_json, fmt="json").clusters["C"].topics
    )
    assert spec.format_of("x.yaml", as_json) == "json" and spec.format_of("x", text) == "toml"


def test_a_broker_section_goes_on_top_of_its_cluster():
    state = spec.parse(
        f'[clusters.C.topics.T]\n[brokers."{A.address}".topics.T]\nreadQueueNums = 2\n'
    )
    topics_a, _ = state.for_broker("C", A.address)
    topics_b, _ = state.for_broker("C", B.address)
    assert topics_a["T"].read_queue_nums == 2 and topics_b["T"].read_queue_nums == 8


def test_key_lines_find_nested_and_quoted_keys():
    text = '# c\n[clusters."My.Cluster".topics.T]\n\nperm = 6\n'
    lines = spec.key_lines(text)
    assert lines[("clusters", "My.Cluster", "topics", "T")] == 2
    assert lines[("clusters", "My.Cluster", "topics", "T", "perm")] == 4
    with pytest.raises(spec.SpecError, match=r'^f.toml:4: clusters."My.Cluster".topics.T.perm'):
        spec.parse(text.replace("6", "7"), "f.toml")


def test_plan_of_one_broker():
    state = spec.parse(
        "[clusters.C.topics.Same]\n[clusters.C.topics.New]\n"
        '[clusters.C.topics.Fifo]\nattributes = { "queue.type" = "BatchCQ" }\n'
        "[clusters.C.groups.G]\nretryMaxTimes = 3\n"
    )
    held = diff.Holding(
        topics={
            "Same": TopicConfig("Same", 8, 8, 6, attributes={}),
            "Fifo": TopicConfig("Fifo", 8, 8, 6, attributes={"queue.type": "SimpleCQ"}),
            "Extra": TopicConfig("Extra", 1, 1, 6),
            "TBW102": TopicConfig("TBW102", 8, 8, 7),
            "%RETRY%G": TopicConfig("%RETRY%G", 1, 1, 6),
            "C": TopicConfig("C", 16, 16, 7),
            "broker-a": TopicConfig("broker-a", 1, 1, 7),
        },
        groups={**system_groups(), "G": spec.default_group("G")},  # retryMaxTimes 16
    )
    result = diff.plan(state, [A], {A.address: held}, prune=True)
    by = {(c.kind, c.name): c for c in result.changes}
    assert set(by) == {("topic", "New"), ("topic", "Fifo"), ("group", "G"), ("topic", "Extra")}
    assert by[("group", "G")].fields == {"retryMaxTimes": (16, 3)}
    assert by[("topic", "Extra")].action == "delete"
    fifo = by[("topic", "Fifo")]
    assert fifo.fields == {"attributes.queue.type": ("SimpleCQ", "BatchCQ")}
    assert fifo.attribute_edits == "+queue.type=BatchCQ" and fifo.notes
    assert [i.name for i in result.unchanged] == ["Same"]


topic = st.builds(
    lambda name, r, w, perm, order, attrs: TopicConfig(name, r, w, perm, order=order,
                                                       attributes=attrs),
    st.sampled_from(["T1", "T2", "T3", "TBW102", "%DLQ%G1"]),
    st.integers(1, 3), st.integers(1, 3), st.sampled_from([2, 4, 6]), st.booleans(),
    st.sampled_from([{}, {"message.type": "FIFO"}, None]),
)  # fmt: skip
group = st.builds(
    lambda name, retries, policy: (
        SubscriptionGroupConfig(name, retry_max_times=retries)
        if not policy
        else SubscriptionGroupConfig(name, retry_max_times=retries, consume_enable=False)
    ),
    st.sampled_from(["G1", "G2", "TOOLS_CONSUMER"]),
    st.integers(0, 3),
    st.booleans(),
)
holding = st.builds(
    lambda ts, gs: diff.Holding({t.topic_name: t for t in ts}, {g.group_name: g for g in gs}),
    st.lists(topic, max_size=4),
    st.lists(group, max_size=3),
)


@settings(max_examples=200)
@given(held_a=holding, held_b=holding, as_json=st.booleans())
def test_export_then_plan_is_clean(held_a, held_b, as_json):
    holdings = {A.address: held_a, B.address: held_b}
    document = diff.export([A, B], holdings)
    text = json.dumps(document) if as_json else tomli_w.dumps(document)
    state = spec.parse(text, "export", fmt="json" if as_json else "toml")
    result = diff.plan(state, [A, B], holdings, prune=True)
    assert result.changes == [] and result.not_in_file == []
