"""The broker administration operations against mqadmin's exchanges with real 5.3.3 brokers
(tests/data/frames-topic-admin-5.3.3 and frames-broker-config-5.3.3). No server needed.

For every captured request to a broker, the operation built from the same inputs must carry the
same code, ext fields and body (opaque, language and version are the sender's own; AccessKey and
Signature are added by the signing layer); every captured answer must parse into the typed
result, or the typed error, of its operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nsctl.client import operations as ops
from nsctl.client.errors import InvalidParameterError, NameServerResponseError
from nsctl.client.operations import Operation
from nsctl.protocol.broker_admin import SubscriptionGroupConfig, SubscriptionGroupWrapper
from nsctl.protocol.broker_models import BrokerTopicConfig
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode
from nsctl.protocol.register import TopicConfig, TopicConfigSerializeWrapper

DATA = Path(__file__).resolve().parent.parent / "data"
FOLDERS = ("frames-topic-admin-5.3.3", "frames-broker-config-5.3.3")
#: Added to every mqadmin request by its ACL hook, not by the operation.
SIGNING_FIELDS = {"AccessKey", "Signature"}


def _ext(request: RemotingCommand, name: str) -> str:
    value = request.ext(name)
    assert value is not None, f"the captured request has no {name!r}"
    return value


def _create_topic(request: RemotingCommand) -> Operation:
    config = TopicConfig(
        _ext(request, "topic"),
        read_queue_nums=int(_ext(request, "readQueueNums")),
        write_queue_nums=int(_ext(request, "writeQueueNums")),
        perm=int(_ext(request, "perm")),
        topic_filter_type=_ext(request, "topicFilterType"),
        topic_sys_flag=int(_ext(request, "topicSysFlag")),
        order=_ext(request, "order") == "true",
    )
    return ops.update_and_create_topic(config, request.ext("attributes"))


#: How to build each captured broker request with the operations module.
REBUILD: dict[str, Callable[[RemotingCommand], Operation]] = {
    "UPDATE_AND_CREATE_TOPIC": _create_topic,
    "DELETE_TOPIC_IN_BROKER": lambda r: ops.delete_topic_in_broker(_ext(r, "topic")),
    "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP": lambda r: ops.update_and_create_subscription_group(
        SubscriptionGroupConfig.decode(r.body)
    ),
    "DELETE_SUBSCRIPTIONGROUP": lambda r: ops.delete_subscription_group(
        _ext(r, "groupName"), _ext(r, "cleanOffset") == "true"
    ),
    "GET_ALL_TOPIC_CONFIG": lambda r: ops.get_all_topic_config(),
    "GET_ALL_SUBSCRIPTIONGROUP_CONFIG": lambda r: ops.get_all_subscription_group_config(),
    "GET_TOPIC_CONFIG": lambda r: ops.get_topic_config(_ext(r, "topic")),
}

RESULT_TYPES: dict[str, type] = {
    "UPDATE_AND_CREATE_TOPIC": type(None),
    "DELETE_TOPIC_IN_BROKER": type(None),
    "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP": type(None),
    "DELETE_SUBSCRIPTIONGROUP": type(None),
    "GET_ALL_TOPIC_CONFIG": TopicConfigSerializeWrapper,
    "GET_ALL_SUBSCRIPTIONGROUP_CONFIG": SubscriptionGroupWrapper,
    "GET_TOPIC_CONFIG": BrokerTopicConfig,
}


def _exchanges() -> list[tuple[str, dict, Path, Path]]:
    found = []
    for folder in FOLDERS:
        lines = (DATA / folder / "frames.jsonl").read_text().splitlines()
        metas = [json.loads(line) for line in lines if line]
        responses = {m["nn"]: m for m in metas if m["kind"] == "response"}
        for meta in metas:
            if meta["kind"] != "request" or meta["peer"] != "broker":
                continue
            if meta["request_name"] not in REBUILD:
                continue
            answer = responses[meta["nn"]]
            found.append(
                (folder, meta, DATA / folder / meta["file"], DATA / folder / answer["file"])
            )
    return found


EXCHANGES = _exchanges()


def _id(exchange: tuple[str, dict, Path, Path]) -> str:
    return exchange[2].name.removesuffix("_request.bin")


def test_fixtures_hold_every_broker_admin_call() -> None:
    assert {meta["request_name"] for _, meta, _, _ in EXCHANGES} == set(REBUILD)
    assert len(EXCHANGES) >= 25


@pytest.mark.parametrize("exchange", EXCHANGES, ids=_id)
def test_built_request_equals_mqadmins_up_to_sender_and_signature(exchange) -> None:
    _, meta, request_path, _ = exchange
    captured = decode(request_path.read_bytes())
    built = REBUILD[meta["request_name"]](captured).request
    assert built.code == captured.code
    assert built.flag == captured.flag == 0
    assert built.remark == captured.remark
    expected = {k: v for k, v in (captured.ext_fields or {}).items() if k not in SIGNING_FIELDS}
    assert (built.ext_fields or {}) == expected
    assert (built.body or b"") == (captured.body or b"")


@pytest.mark.parametrize("exchange", EXCHANGES, ids=_id)
def test_captured_answer_parses_into_its_typed_result(exchange) -> None:
    _, meta, request_path, response_path = exchange
    operation = REBUILD[meta["request_name"]](decode(request_path.read_bytes()))
    response = decode(response_path.read_bytes())
    if response.code != 0:
        with pytest.raises(NameServerResponseError) as caught:
            operation.parse(response, "127.0.0.1:39921")
        assert caught.value.code == response.code
        assert caught.value.remark == response.remark
        if response.code == 29:
            assert isinstance(caught.value, InvalidParameterError)
        return
    result = operation.parse(response, "127.0.0.1:39921")
    assert isinstance(result, RESULT_TYPES[meta["request_name"]])


def _frame(folder: str, prefix: str) -> RemotingCommand:
    (path,) = sorted((DATA / folder).glob(f"{prefix}*"))
    return decode(path.read_bytes())


def test_create_topic_answer_keeps_the_brokers_default_remark() -> None:
    answer = _frame(FOLDERS[0], "004_UPDATE_AND_CREATE_TOPIC-updateTopic-c_response")
    assert answer.code == 0 and answer.remark == "not set any response code"
    assert ops.update_and_create_topic(TopicConfig("AdminT", 4, 4)).parse(answer) is None


def test_refusals_name_the_reason() -> None:
    bad = _frame(FOLDERS[0], "059_UPDATE_AND_CREATE_TOPIC-updateTopic-badname_response")
    system = _frame(FOLDERS[0], "063_UPDATE_AND_CREATE_TOPIC-updateTopic-TBW102_response")
    with pytest.raises(InvalidParameterError, match=r"illegal characters"):
        ops.update_and_create_topic(TopicConfig("bad topic", 8, 8)).parse(bad)
    with pytest.raises(InvalidParameterError, match=r"The topic\[TBW102\] is conflict"):
        ops.update_and_create_topic(TopicConfig("TBW102", 8, 8)).parse(system)


def test_mqadmin_update_sub_group_defaults_give_its_exact_body() -> None:
    captured = _frame(FOLDERS[0], "068_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP-updateSubGroup-c_req")
    # mqadmin's updateSubGroup turns broadcast and consume-from-min off unless asked.
    config = SubscriptionGroupConfig(
        "AdminGroup", consume_broadcast_enable=False, consume_from_min_enable=False
    )
    assert ops.update_and_create_subscription_group(config).request.body == captured.body


def test_topic_with_attributes_sends_the_edit_text_as_given() -> None:
    captured = _frame(FOLDERS[0], "020_UPDATE_AND_CREATE_TOPIC-updateTopic-fifo_request")
    built = ops.update_and_create_topic(TopicConfig("AdminFifo", 8, 8), "+message.type=FIFO")
    assert built.request.ext("attributes") == captured.ext("attributes") == "+message.type=FIFO"


def test_all_topic_config_keeps_the_brokers_order_and_bytes() -> None:
    answer = _frame(FOLDERS[1], "001_GET_ALL_TOPIC_CONFIG-exportMetadata-b-t_response")
    wrapper = ops.get_all_topic_config().parse(answer)
    table = wrapper.topic_config_table
    assert len(table) == 16
    assert next(iter(table)) == "CapOrder" and table["CapOrder"].order is True
    assert table["CapFifo"].attributes == {"message.type": "FIFO"}
    assert table["CapRO"].perm == 4
    assert wrapper.data_version.counter == 4
    assert wrapper.encode() == answer.body


def test_all_subscription_groups_keep_the_brokers_order_and_bytes() -> None:
    answer = _frame(FOLDERS[1], "003_GET_ALL_SUBSCRIPTIONGROUP_CONFIG-exportMetadata-b-g_response")
    wrapper = ops.get_all_subscription_group_config().parse(answer)
    groups = wrapper.subscription_group_table
    assert list(groups)[:2] == ["CapG2", "CapG1"]
    assert groups["CapG2"].consume_message_orderly is True
    assert groups["CapG2"].retry_max_times == 5
    assert groups["TOOLS_CONSUMER"] == SubscriptionGroupConfig("TOOLS_CONSUMER")
    assert wrapper.forbidden_table == {}
    assert wrapper.encode() == answer.body
