"""Pure checks of broker administration: names, queue counts, perms, attribute edits, and the
subscription-group model's round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsctl.protocol.broker_admin import (
    AttributeEdits,
    InvalidArgument,
    SubscriptionGroupConfig,
    SubscriptionGroupWrapper,
    check_attributes,
    dlq_topic,
    is_system_topic,
    parse_attributes,
    retry_topic,
    system_groups,
    topic_name_problem,
    validate_group,
    validate_perm,
    validate_queue_nums,
    validate_topic,
)
from nsctl.protocol.register import DataVersion


@pytest.mark.parametrize("name", ["AdminT", "a", "%RETRY%G", "a|b", "x-y_z", "T" * 127])
def test_good_topic_names(name: str) -> None:
    assert validate_topic(name) == name


@pytest.mark.parametrize(
    "name,message",
    [
        ("", "The specified topic is blank."),
        ("   ", "The specified topic is blank."),
        ("bad topic", "contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"),
        ("é", "illegal characters"),
        ("T" * 128, "longer than topic max length"),
        ("TBW102", "The topic[TBW102] is conflict with system topic."),
        ("SCHEDULE_TOPIC_XXXX", "conflict with system topic"),
        ("rmq_sys_anything", "conflict with system topic"),
        ("CHECKPOINT_TOPIC", "conflict with system topic"),
    ],
)
def test_bad_topic_names_are_refused_with_the_brokers_words(name: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_topic(name)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_system_topics_and_extra_names() -> None:
    assert is_system_topic("BenchmarkTest")
    assert not is_system_topic("DefaultCluster")
    assert is_system_topic("DefaultCluster", {"DefaultCluster"})
    assert topic_name_problem("AdminT") is None


def test_group_names() -> None:
    assert validate_group("AdminGroup") == "AdminGroup"
    for bad, words in [("", "blank"), ("a b", "illegal characters"), ("G" * 256, "max length")]:
        with pytest.raises(InvalidArgument, match=words):
            validate_group(bad)
    assert retry_topic("G") == "%RETRY%G" and dlq_topic("G") == "%DLQ%G"


def test_queue_counts_and_perms() -> None:
    validate_queue_nums(8, 8)
    validate_queue_nums(2, 3)
    for read, write in [(0, 8), (8, -1), (True, 8), (2**31, 1)]:
        with pytest.raises(InvalidArgument):
            validate_queue_nums(read, write)  # type: ignore[arg-type]
    assert [validate_perm(p) for p in (2, 4, 6)] == [2, 4, 6]
    for perm in (0, 1, 3, 5, 7, 8):
        with pytest.raises(InvalidArgument, match="2: W, 4: R, 6: RW"):
            validate_perm(perm)


def test_attribute_text_parses_into_sets_and_deletes() -> None:
    edits = parse_attributes("+message.type=FIFO,-reserve.time")
    assert edits.set == {"message.type": "FIFO"}
    assert edits.delete == ("reserve.time",)
    assert edits.text == "+message.type=FIFO,-reserve.time"
    assert edits.signed == {"+message.type": "FIFO", "-reserve.time": ""}
    assert not parse_attributes("") and parse_attributes(None) == AttributeEdits()


@pytest.mark.parametrize(
    "text,words",
    [
        ("message.type=FIFO", "add/alter attribute format is wrong: message.type"),
        ("message.type", "delete attribute format is wrong: message.type"),
        ("+a=1,+a=2", "key duplication: +a"),
        ("+a=1,-a", "alter duplication key. key: a"),
        ("+=x", "kv string format wrong."),
        ("+a-b=x", "kv string format wrong."),
    ],
)
def test_malformed_attribute_text(text: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_attributes(text)
    assert str(caught.value) == words


def test_attribute_edits_apply_as_the_broker_does() -> None:
    created = check_attributes(parse_attributes("+message.type=FIFO"), create=True)
    assert created == {"message.type": "FIFO"}
    updated = check_attributes(parse_attributes("+message.type=NORMAL"), created, create=False)
    assert updated == {"message.type": "NORMAL"}
    assert check_attributes(parse_attributes(""), created, create=False) == created
    with pytest.raises(InvalidArgument, match="only add attribute is supported"):
        check_attributes(parse_attributes("-message.type"), create=True)
    with pytest.raises(InvalidArgument, match=r"nonexistent key: reserve\.time"):
        check_attributes(parse_attributes("-reserve.time"), created, create=False)
    with pytest.raises(InvalidArgument, match="unsupported key: nope"):
        check_attributes(parse_attributes("+nope=1"), create=True)
    with pytest.raises(InvalidArgument, match=r"value is not in set"):
        check_attributes(parse_attributes("+message.type=LOUD"), create=True)
    with pytest.raises(InvalidArgument, match=r"unchangeable attribute\. key: queue\.type"):
        check_attributes(parse_attributes("+queue.type=BatchCQ"), created, create=False)
    assert check_attributes(parse_attributes("+queue.type=BatchCQ"), create=True) == {
        "queue.type": "BatchCQ"
    }


def test_predefined_groups_have_javas_defaults() -> None:
    groups = system_groups()
    assert next(iter(groups)) == "TOOLS_CONSUMER" and len(groups) == 8
    config = groups["CID_RMQ_SYS_TRANS"]
    assert config.consume_broadcast_enable and config.consume_from_min_enable
    assert (config.retry_queue_nums, config.retry_max_times, config.consume_timeout_minute) == (
        1,
        16,
        15,
    )


_names = st.text(alphabet="abcXYZ019_-%|", min_size=1, max_size=20)


@given(
    name=_names,
    flags=st.lists(st.booleans(), min_size=5, max_size=5),
    numbers=st.lists(st.integers(0, 2**31 - 1), min_size=6, max_size=6),
    attributes=st.dictionaries(st.sampled_from(["a.b", "c"]), st.sampled_from(["x", "1"])),
)
def test_subscription_group_round_trips(name, flags, numbers, attributes) -> None:
    config = SubscriptionGroupConfig(
        name,
        *flags[:4],
        retry_queue_nums=numbers[0],
        retry_max_times=numbers[1],
        broker_id=numbers[2],
        which_broker_when_consume_slowly=numbers[3],
        notify_consumer_ids_changed_enable=flags[4],
        group_sys_flag=numbers[4],
        consume_timeout_minute=numbers[5],
        attributes=attributes,
    )
    assert SubscriptionGroupConfig.decode(config.encode()) == config
    wrapper = SubscriptionGroupWrapper({name: config}, {}, DataVersion(3, 4, 0))
    assert SubscriptionGroupWrapper.decode(wrapper.encode()) == wrapper
