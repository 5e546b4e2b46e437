"""Random sequences of topic creates, updates and deletes sent to a stand-in over a socket leave
its GET_ALL_TOPIC_CONFIG equal to a plain dict model of what a 5.3.3 broker keeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.client.broker_client import BrokerClient
from nsctl.client.errors import NameServerResponseError
from nsctl.protocol.register import TopicConfig
from nsctl.standin import StandInBrokers

NAMES = ["T1", "T2", "T3", "TBW102", "bad name", "rmq_sys_x"]
REFUSED = {"TBW102", "bad name", "rmq_sys_x"}

_create = st.tuples(
    st.just("write"),
    st.sampled_from(NAMES),
    st.integers(1, 16),
    st.integers(1, 16),
    st.sampled_from([2, 4, 6]),
    st.booleans(),
    st.sampled_from(["", "+message.type=FIFO", "+message.type=NORMAL", "-message.type"]),
)
_delete = st.tuples(st.just("delete"), st.sampled_from(NAMES))


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[StandInBrokers]:
    with StandInBrokers() as brokers:
        yield brokers


@settings(max_examples=40)
@given(steps=st.lists(st.one_of(_create, _delete), max_size=12))
def test_topic_table_follows_a_dict_model(stand_ins: StandInBrokers, steps) -> None:
    address = stand_ins.add()  # a fresh broker for each sequence
    try:
        with BrokerClient(address, timeout=3) as client:
            system = client.get_all_topic_config().topic_config_table
            model: dict[str, TopicConfig] = {}
            for step in steps:
                if step[0] == "delete":
                    name = step[1]
                    refused = name in system or name in REFUSED
                    try:
                        client.delete_topic_in_broker(name)
                    except NameServerResponseError as exc:
                        assert refused and exc.code == 29
                    else:
                        assert not (name in system or name.startswith("rmq_sys_"))
                        model.pop(name, None)
                    continue
                _, name, read, write, perm, order, edit = step
                expected = _expected_write(model.get(name), name, read, write, perm, order, edit)
                try:
                    client.update_and_create_topic(
                        TopicConfig(name, read, write, perm, order=order), edit
                    )
                except NameServerResponseError as exc:
                    assert name in REFUSED or expected is None, (step, exc)
                    assert exc.code == (29 if name in REFUSED else 1)
                else:
                    assert expected is not None and name not in REFUSED, step
                    model[name] = expected
            table = client.get_all_topic_config().topic_config_table
        assert {k: v for k, v in table.items() if k not in system} == model
        assert {k: table[k] for k in system} == system
    finally:
        stand_ins.stop(address)


def _expected_write(
    current: TopicConfig | None,
    name: str,
    read: int,
    write: int,
    perm: int,
    order: bool,
    edit: str,
) -> TopicConfig | None:
    """What the broker keeps after the write, or None when it refuses the attribute edit."""
    attributes = {} if current is None else dict(current.attributes or {})
    if edit.startswith("+"):
        attributes["message.type"] = edit.split("=", 1)[1]
    elif edit.startswith("-"):
        if current is None or "message.type" not in attributes:
            return None  # nothing to delete, or a delete while creating
        del attributes["message.type"]
    return TopicConfig(name, read, write, perm, order=order, attributes=attributes)
