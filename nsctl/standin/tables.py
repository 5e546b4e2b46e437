"""A stand-in broker's state: its topic and subscription-group tables, and how a 5.3.3 broker
answers the requests that read and change them (codes, remarks, refusals, version bumps).

Pure: no sockets, no tasks; the time is passed in. `BrokerTables.answer` returns the response
and, for an accepted topic write, the topic a 5.3.3 broker registers on its NameServers (an
incremental REGISTER_BROKER) before it answers. Every other request changes nothing outside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nsctl.client.broker import system_topics
from nsctl.protocol import dialect
from nsctl.protocol.broker_admin import (
    GROUP_ATTRIBUTES,
    AttributeEdits,
    CreateTopicRequestHeader,
    DeleteSubscriptionGroupRequestHeader,
    DeleteTopicRequestHeader,
    InvalidArgument,
    SubscriptionGroupConfig,
    SubscriptionGroupWrapper,
    check_attributes,
    parse_attributes,
    system_groups,
    system_topic_problem,
    topic_name_problem,
)
from nsctl.protocol.broker_models import (
    BrokerTopicConfig,
    MessageQueue,
    TopicOffset,
    TopicStatsTable,
)
from nsctl.protocol.codes import RequestCode, ResponseCode, Version
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.headers import GetTopicConfigRequestHeader, GetTopicStatsInfoRequestHeader
from nsctl.protocol.register import DataVersion, TopicConfig, TopicConfigSerializeWrapper

#: What the stand-in puts in `version`: it answers as a 5.3.3 broker.
BROKER_VERSION = int(Version.V5_3_3)
#: `brokerVersionDesc` of GET_BROKER_RUNTIME_INFO: says plainly what answers.
VERSION_DESC = "V5_3_3 (nsctl stand-in)"
#: The remark a 5.3.3 broker leaves on its UPDATE_AND_CREATE_TOPIC success (the default remark
#: of a response it never cleared).
UNSET_REMARK = "not set any response code"
#: 5.3.3's remark for a code no processor serves (with its leading space).
NOT_SUPPORTED = " request type {code} not supported"

_S = ResponseCode.SUCCESS
_INVALID = ResponseCode.INVALID_PARAMETER
_ERROR = ResponseCode.SYSTEM_ERROR


@dataclass(frozen=True, slots=True)
class Reply:
    """A response, and the topic to register on the NameServers before sending it (if any)."""

    response: RemotingCommand
    register: TopicConfig | None = None


class BrokerTables:
    """The topic and group tables of broker `broker_name` of `cluster`, started as a fresh
    5.3.3 broker starts them (system topics and predefined groups), plus `topics`/`groups`.
    `with_system_topics=False` starts the topic table with `topics` alone."""

    def __init__(
        self,
        cluster: str,
        broker_name: str,
        *,
        now_ms: int,
        topics: Mapping[str, TopicConfig] | None = None,
        groups: Mapping[str, SubscriptionGroupConfig] | None = None,
        boot_ms: int | None = None,
        with_system_topics: bool = True,
    ) -> None:
        self.cluster = cluster
        self.broker_name = broker_name
        own = system_topics(cluster, broker_name)
        #: Names a broker registers as system topics at start: refused for create and delete
        #: (even when `with_system_topics=False` leaves them out of the table).
        self.system_names = frozenset(own)
        self.topics: dict[str, TopicConfig] = own if with_system_topics else {}
        self.topics.update({c.topic_name: c for c in (topics or {}).values()})
        self.groups: dict[str, SubscriptionGroupConfig] = system_groups()
        self.groups.update({g.group_name: g for g in (groups or {}).values()})
        self.topic_version = DataVersion(0, now_ms, 0)
        self.group_version = DataVersion(0, now_ms, 0)
        self.mapping_version = DataVersion(0, now_ms, 0)
        self.boot_ms = now_ms if boot_ms is None else boot_ms
        self._handlers: dict[int, Callable[[RemotingCommand, int], Reply]] = {
            RequestCode.GET_BROKER_RUNTIME_INFO: self._runtime_info,
            RequestCode.GET_TOPIC_STATS_INFO: self._topic_stats,
            RequestCode.GET_TOPIC_CONFIG: self._topic_config,
            RequestCode.UPDATE_AND_CREATE_TOPIC: self._create_topic,
            RequestCode.DELETE_TOPIC_IN_BROKER: self._delete_topic,
            RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: self._create_group,
            RequestCode.DELETE_SUBSCRIPTIONGROUP: self._delete_group,
            RequestCode.GET_ALL_TOPIC_CONFIG: self._all_topics,
            RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG: self._all_groups,
        }

    # --- the whole ---------------------------------------------------------------------------

    def answer(self, request: RemotingCommand, now_ms: int) -> Reply:
        """How a 5.3.3 broker answers `request` against these tables (changing them if it is
        an accepted write)."""
        handler = self._handlers.get(request.code)
        if handler is None:
            return Reply(
                _reply(
                    request,
                    ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
                    NOT_SUPPORTED.format(code=request.code),
                )
            )
        try:
            return handler(request, now_ms)
        except _MissingField as missing:
            # Java's header decoding refuses a null @CFNotNull field before the processor runs.
            return Reply(_reply(request, _ERROR, f"the custom field <{missing}> is null"))

    def topic_wrapper(self) -> TopicConfigSerializeWrapper:
        """GET_ALL_TOPIC_CONFIG's answer: the whole topic table, as a 5.3.3 broker sends it."""
        return TopicConfigSerializeWrapper(
            topic_config_table=dict(self.topics),
            data_version=self.topic_version,
            mapping_data_version=self.mapping_version,
            topic_queue_mapping_info_map={},
            topic_queue_mapping_detail_map={},
        )

    def group_wrapper(self) -> SubscriptionGroupWrapper:
        return SubscriptionGroupWrapper(dict(self.groups), {}, self.group_version)

    def runtime_table(self, now_ms: int) -> dict[str, str]:
        """GET_BROKER_RUNTIME_INFO's figures: honest ones (no messages ever stored or served)."""
        up = max(0, now_ms - self.boot_ms) // 1000
        days, rest = divmod(up, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        zero_tps = "0.0 0.0 0.0 "
        return {
            "brokerVersionDesc": VERSION_DESC,
            "brokerVersion": str(BROKER_VERSION),
            "brokerActive": "true",
            "bootTimestamp": str(self.boot_ms),
            "runtime": f"[ {days} days, {hours} hours, {minutes} minutes, {seconds} seconds ]",
            "msgPutTotalTodayNow": "0",
            "msgGetTotalTodayNow": "0",
            "msgPutTotalTodayMorning": "0",
            "msgGetTotalTodayMorning": "0",
            "msgPutTotalYesterdayMorning": "0",
            "msgGetTotalYesterdayMorning": "0",
            "putTps": zero_tps,
            "getFoundTps": zero_tps,
            "getMissTps": zero_tps,
            "getTotalTps": zero_tps,
            "getTransferredTps": zero_tps,
            "putMessageTimesTotal": "0",
            "putMessageSizeTotal": "0",
            "putMessageFailedTimes": "0",
            "commitLogMinOffset": "0",
            "commitLogMaxOffset": "0",
            "dispatchBehindBytes": "0",
            # What an empty store answers: there is no earliest message.
            "earliestMessageTimeStamp": "-1",
            "startAcceptSendRequestTimeStamp": "0",
            "pageCacheLockTimeMills": "0",
            "remainHowManyDataToFlush": "0 B",
            "timerReadBehind": "0",
            "timerOffsetBehind": "0",
            "timerCongestNum": "0",
            "timerEnqueueTps": "0.0",
            "timerDequeueTps": "0.0",
            **{
                f"{pool}ThreadPoolQueue{what}": "0"
                for pool in ("send", "pull", "litePull", "query", "ack")
                for what in ("Size", "HeadWaitTimeMills")
            },
        }

    # --- reads -------------------------------------------------------------------------------

    def _runtime_info(self, request: RemotingCommand, now_ms: int) -> Reply:
        body = dialect.dumps({"table": self.runtime_table(now_ms)}).encode("utf-8")
        return Reply(_reply(request, body=body))

    def _topic_stats(self, request: RemotingCommand, now_ms: int) -> Reply:
        topic = GetTopicStatsInfoRequestHeader.from_ext(request.ext_fields).topic
        config = self.topics.get(_required(topic, "topic"))
        if config is None:
            return Reply(_reply(request, ResponseCode.TOPIC_NOT_EXIST, f"topic[{topic}] not exist"))
        queues = max(config.read_queue_nums, config.write_queue_nums)
        name = config.topic_name
        table = TopicStatsTable(
            {MessageQueue(name, self.broker_name, i): TopicOffset() for i in range(queues)}
        )
        return Reply(_reply(request, body=table.encode()))

    def _topic_config(self, request: RemotingCommand, now_ms: int) -> Reply:
        topic = GetTopicConfigRequestHeader.from_ext(request.ext_fields).topic
        config = self.topics.get(_required(topic, "topic"))
        if config is None:
            remark = f"No topic in this broker. topic: {topic}"
            return Reply(_reply(request, ResponseCode.TOPIC_NOT_EXIST, remark))
        return Reply(_reply(request, body=BrokerTopicConfig(config).encode()))

    def _all_topics(self, request: RemotingCommand, now_ms: int) -> Reply:
        # The answer is made from an (empty) response header: its ext fields are `{}`.
        return Reply(_reply(request, body=self.topic_wrapper().encode(), ext_fields={}))

    def _all_groups(self, request: RemotingCommand, now_ms: int) -> Reply:
        return Reply(_reply(request, body=self.group_wrapper().encode()))

    # --- writes ------------------------------------------------------------------------------

    def _create_topic(self, request: RemotingCommand, now_ms: int) -> Reply:
        header = CreateTopicRequestHeader.from_ext(request.ext_fields)
        topic = _required(header.topic, "topic")
        for name in ("default_topic", "read_queue_nums", "write_queue_nums", "perm"):
            _required(getattr(header, name), _camel(name))
        _required(header.topic_filter_type, "topicFilterType")
        problem = topic_name_problem(topic) or system_topic_problem(topic, self.system_names)
        if problem is not None:
            return Reply(_reply(request, _INVALID, problem))
        try:
            edits = parse_attributes(header.attributes)
        except InvalidArgument as exc:
            return Reply(_reply(request, _ERROR, str(exc)))
        if edits.set.get("message.type") == "MIXED":
            return Reply(_reply(request, _INVALID, "MIXED message type is not supported."))
        asked = TopicConfig(
            topic,
            header.read_queue_nums or 0,
            header.write_queue_nums or 0,
            header.perm or 0,
            header.topic_filter_type or "SINGLE_TAG",
            header.topic_sys_flag or 0,
            bool(header.order),
            {},
        )
        existing = self.topics.get(topic)
        if not edits and asked == existing:
            # Nothing changes: the broker answers at once, with no version bump and no
            # registration.
            return Reply(_reply(request, _S, UNSET_REMARK))
        try:
            asked.attributes = check_attributes(
                edits,
                None if existing is None else existing.attributes,
                create=existing is None,
            )
        except InvalidArgument as exc:
            return Reply(_reply(request, _ERROR, str(exc)))
        self.topics[topic] = asked
        self.topic_version = _bump(self.topic_version, now_ms)
        return Reply(_reply(request, _S, UNSET_REMARK), register=asked)

    def _delete_topic(self, request: RemotingCommand, now_ms: int) -> Reply:
        topic = _required(DeleteTopicRequestHeader.from_ext(request.ext_fields).topic, "topic")
        if not topic.strip():
            return Reply(_reply(request, _INVALID, "The specified topic is blank."))
        problem = system_topic_problem(topic, self.system_names)
        if problem is not None:
            return Reply(_reply(request, _INVALID, problem))
        if self.topics.pop(topic, None) is not None:
            self.topic_version = _bump(self.topic_version, now_ms)
        return Reply(_reply(request))

    def _create_group(self, request: RemotingCommand, now_ms: int) -> Reply:
        if not request.body:
            return Reply(_reply(request, _ERROR, "the request has no SubscriptionGroupConfig"))
        try:
            config = SubscriptionGroupConfig.decode(request.body)
        except ProtocolError as exc:
            return Reply(_reply(request, _ERROR, str(exc)))
        existing = self.groups.get(config.group_name)
        signed = config.attributes
        edits = AttributeEdits(
            {k[1:]: v for k, v in signed.items() if k.startswith("+")},
            tuple(k[1:] for k in signed if k.startswith("-")),
        )
        if any(not k.startswith(("+", "-")) for k in signed):
            bad = next(k for k in signed if not k.startswith(("+", "-")))
            return Reply(_reply(request, _ERROR, f"wrong format key: {bad}"))
        try:
            config.attributes = check_attributes(
                edits,
                None if existing is None else existing.attributes,
                create=existing is None,
                known=GROUP_ATTRIBUTES,
            )
        except InvalidArgument as exc:
            return Reply(_reply(request, _ERROR, str(exc)))
        self.groups[config.group_name] = config
        self.group_version = _bump(self.group_version, now_ms)
        return Reply(_reply(request))

    def _delete_group(self, request: RemotingCommand, now_ms: int) -> Reply:
        header = DeleteSubscriptionGroupRequestHeader.from_ext(request.ext_fields)
        group = _required(header.group_name, "groupName")
        if self.groups.pop(group, None) is not None:
            self.group_version = _bump(self.group_version, now_ms)
        return Reply(_reply(request))


class _MissingField(Exception):
    """A required ext field is absent; its Java name is the message."""


def _required(value, name: str):
    if value is None:
        raise _MissingField(name)
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _bump(version: DataVersion, now_ms: int) -> DataVersion:
    """DataVersion.nextVersion: counter + 1, the current time."""
    return DataVersion(version.counter + 1, now_ms, version.state_version or 0)


def _reply(
    request: RemotingCommand,
    code: int = _S,
    remark: str | None = None,
    *,
    body: bytes | None = None,
    ext_fields: dict[str, str] | None = None,
) -> RemotingCommand:
    return request.make_response(
        code, remark, ext_fields=ext_fields, body=body, version=BROKER_VERSION
    )
