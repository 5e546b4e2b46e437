"""Every NameServer call and broker query, defined once and free of I/O.

An `Operation` says how the request is built (code, ext fields, body) and how the response is
turned into a typed result or a typed error. The sync and asyncio clients only move the frames:
they stamp an opaque and a serialization on `operation.request`, send it, and hand whatever comes
back to `operation.parse`. Nothing here touches a socket, so every parser can be checked against
captured frames without a server.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nsctl.client.errors import NameServerDataParseError, NameServerUsageError, response_error
from nsctl.protocol import headers as h
from nsctl.protocol.codes import (
    AUTO_CREATE_TOPIC,
    DEFAULT_VERSION,
    RequestCode,
    ResponseCode,
    SerializeType,
    Version,
    code_name,
)
from nsctl.protocol.command import FLAG_ONEWAY, RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.models import (
    BrokerMemberGroup,
    ClusterInfo,
    KVTable,
    QueueData,
    TopicList,
    TopicRouteData,
)

if TYPE_CHECKING:
    from nsctl.protocol.broker_admin import (
        AttributeEdits,
        SubscriptionGroupConfig,
        SubscriptionGroupWrapper,
    )
    from nsctl.protocol.broker_models import BrokerRuntimeInfo, BrokerTopicConfig, TopicStatsTable
    from nsctl.protocol.register import (
        DataVersion,
        RegisterBrokerResult,
        TopicConfig,
        TopicConfigSerializeWrapper,
    )

T = TypeVar("T")

LANGUAGE = "PYTHON"


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One NameServer call: the request to send and the parser of its answer.

    `request` carries opaque 0 and JSON serialization; `build` gives the command to put on the
    wire. For a one-way operation `parse` is never called (there is no answer).
    """

    request: RemotingCommand
    parser: Callable[[RemotingCommand, str | None], T]
    oneway: bool = False

    def build(self, opaque: int, serialize_type: SerializeType) -> RemotingCommand:
        return dataclasses.replace(self.request, opaque=opaque, serialize_type=serialize_type)

    def parse(self, response: RemotingCommand, address: str | None = None) -> T:
        """The typed result, or the typed error raised, for `response`."""
        if response.code != ResponseCode.SUCCESS:
            raise response_error(
                response.code, response.remark, address=address, request_code=self.request.code
            )
        try:
            return self.parser(response, address)
        except ProtocolError as exc:
            name = code_name(self.request.code, response=False)
            raise NameServerDataParseError(
                f"{name}: cannot parse the answer: {exc}", address=address
            ) from exc


def _command(
    code: RequestCode,
    header: h.Header | None = None,
    body: bytes | None = None,
    *,
    oneway: bool = False,
    version: int = int(DEFAULT_VERSION),
) -> RemotingCommand:
    return RemotingCommand(
        code=int(code),
        language=LANGUAGE,
        version=version,
        flag=FLAG_ONEWAY if oneway else 0,
        ext_fields=None if header is None else header.to_ext(),
        body=body,
    )


# --- parsers shared by several operations --------------------------------------------------


def _nothing(response: RemotingCommand, address: str | None) -> None:
    return None


def _topic_list(response: RemotingCommand, address: str | None) -> TopicList:
    return TopicList.decode(response.body)


def _required_int(response: RemotingCommand, name: str) -> int:
    raw = response.ext(name)
    if raw is None:
        raise ProtocolError(f"the answer lacks the ext field {name!r}")
    try:
        return int(raw)
    except ValueError:
        raise ProtocolError(f"ext field {name!r} is not a number: {raw!r}") from None


# --- topics and routes ---------------------------------------------------------------------


def query_topic_route_info(topic: str) -> Operation[TopicRouteData]:
    # Version 479 already makes both server generations answer standard JSON; the ext field is
    # the belt-and-braces of protocol.md §12.1. The reader still accepts bare keys (zone mode).
    header = h.GetRouteInfoRequestHeader(topic=topic, accept_standard_json_only=True)
    return Operation(
        _command(RequestCode.GET_ROUTEINFO_BY_TOPIC, header),
        lambda response, address: TopicRouteData.decode(response.body),
    )


def get_broker_cluster_info() -> Operation[ClusterInfo]:
    return Operation(
        _command(RequestCode.GET_BROKER_CLUSTER_INFO),
        lambda response, address: ClusterInfo.decode(response.body),
    )


def get_all_topic_list() -> Operation[TopicList]:
    return Operation(_command(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER), _topic_list)


def get_topics_by_cluster(cluster: str) -> Operation[TopicList]:
    header = h.GetTopicsByClusterRequestHeader(cluster=cluster)
    return Operation(_command(RequestCode.GET_TOPICS_BY_CLUSTER, header), _topic_list)


def get_system_topic_list() -> Operation[TopicList]:
    return Operation(_command(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS), _topic_list)


def get_unit_topic_list() -> Operation[TopicList]:
    return Operation(_command(RequestCode.GET_UNIT_TOPIC_LIST), _topic_list)


def get_has_unit_sub_topic_list() -> Operation[TopicList]:
    return Operation(_command(RequestCode.GET_HAS_UNIT_SUB_TOPIC_LIST), _topic_list)


def get_has_unit_sub_ununit_topic_list() -> Operation[TopicList]:
    return Operation(_command(RequestCode.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST), _topic_list)


def register_topic_in_namesrv(topic: str, queue_datas: list[QueueData]) -> Operation[None]:
    """5.x only; a 4.9.8 NameServer never answers it (the call times out)."""
    body = TopicRouteData(queue_datas=list(queue_datas)).encode()
    header = h.RegisterTopicRequestHeader(topic=topic)
    return Operation(_command(RequestCode.REGISTER_TOPIC_IN_NAMESRV, header, body), _nothing)


def delete_topic_in_namesrv(topic: str, cluster_name: str | None = None) -> Operation[None]:
    header = h.DeleteTopicFromNamesrvRequestHeader(topic=topic, cluster_name=cluster_name)
    return Operation(_command(RequestCode.DELETE_TOPIC_IN_NAMESRV, header), _nothing)


# --- KV config -----------------------------------------------------------------------------


def get_kv_config(namespace: str, key: str) -> Operation[str]:
    def parse(response: RemotingCommand, address: str | None) -> str:
        # A ROCKETMQ-serialized answer turns an empty value into an absent one (protocol.md §3),
        # so SUCCESS without `value` means the empty string, not "not found".
        return h.GetKVConfigResponseHeader.from_ext(response.ext_fields).value or ""

    header = h.GetKVConfigRequestHeader(namespace=namespace, key=key)
    return Operation(_command(RequestCode.GET_KV_CONFIG, header), parse)


def put_kv_config(namespace: str, key: str, value: str) -> Operation[None]:
    header = h.PutKVConfigRequestHeader(namespace=namespace, key=key, value=value)
    return Operation(_command(RequestCode.PUT_KV_CONFIG, header), _nothing)


def delete_kv_config(namespace: str, key: str) -> Operation[None]:
    header = h.DeleteKVConfigRequestHeader(namespace=namespace, key=key)
    return Operation(_command(RequestCode.DELETE_KV_CONFIG, header), _nothing)


def get_kv_list_by_namespace(namespace: str) -> Operation[dict[str, str]]:
    header = h.GetKVListByNamespaceRequestHeader(namespace=namespace)
    return Operation(
        _command(RequestCode.GET_KVLIST_BY_NAMESPACE, header),
        lambda response, address: KVTable.decode(response.body).table,
    )


# --- brokers -------------------------------------------------------------------------------


def topic_config_wrapper(
    topic_configs: Mapping[str, TopicConfig] | TopicConfigSerializeWrapper,
    data_version: DataVersion | None = None,
) -> TopicConfigSerializeWrapper:
    """The wrapper a broker registers: given as is, or built from a topic table."""
    from nsctl.protocol.register import DataVersion, TopicConfigSerializeWrapper

    if isinstance(topic_configs, TopicConfigSerializeWrapper):
        if data_version is None:
            return topic_configs
        return dataclasses.replace(topic_configs, data_version=data_version)
    version = data_version or DataVersion(0, int(time.time() * 1000), 0)
    return TopicConfigSerializeWrapper(topic_config_table=dict(topic_configs), data_version=version)


def register_broker(
    *,
    cluster_name: str,
    broker_name: str,
    broker_addr: str,
    broker_id: int = 0,
    ha_server_addr: str | None = None,
    topic_configs: Mapping[str, TopicConfig] | TopicConfigSerializeWrapper,
    data_version: DataVersion | None = None,
    compressed: bool = False,
    oneway: bool = False,
    heartbeat_timeout_millis: int | None = None,
    enable_acting_master: bool | None = None,
) -> Operation[RegisterBrokerResult | None]:
    from nsctl.protocol.register import RegisterBrokerBody, RegisterBrokerResult, body_crc32

    wrapper = topic_config_wrapper(topic_configs, data_version)
    register_body = RegisterBrokerBody(topic_config_serialize_wrapper=wrapper)
    version = int(DEFAULT_VERSION)
    if compressed:
        # The 4.x layout (5 fields per topic, no mapping section) is the one both server
        # generations decode, provided the request says it comes from a pre-5.0 broker: a 5.3.3
        # NameServer then skips the mapping section, and 4.9.8 rejects 6-field entries.
        body = register_body.encode_compressed(legacy=True)
        version = int(Version.V4_9_8)
    else:
        body = register_body.encode()
    header = h.RegisterBrokerRequestHeader(
        broker_name=broker_name,
        broker_addr=broker_addr,
        cluster_name=cluster_name,
        # Java always sends the field; a master without HA listener still names one.
        ha_server_addr=ha_server_addr if ha_server_addr is not None else broker_addr,
        broker_id=broker_id,
        compressed=compressed,
        body_crc32=body_crc32(body),
        heartbeat_timeout_millis=heartbeat_timeout_millis,
        enable_acting_master=enable_acting_master,
    )

    def parse(response: RemotingCommand, address: str | None) -> RegisterBrokerResult:
        answer = h.RegisterBrokerResponseHeader.from_ext(response.ext_fields)
        return RegisterBrokerResult(
            master_addr=answer.master_addr,
            ha_server_addr=answer.ha_server_addr,
            kv_table=KVTable.decode(response.body) if response.body else None,
        )

    command = _command(RequestCode.REGISTER_BROKER, header, body, oneway=oneway, version=version)
    return Operation(command, parse, oneway=oneway)


def unregister_broker(
    *, cluster_name: str, broker_name: str, broker_addr: str, broker_id: int = 0
) -> Operation[None]:
    header = h.UnRegisterBrokerRequestHeader(
        broker_name=broker_name,
        broker_addr=broker_addr,
        cluster_name=cluster_name,
        broker_id=broker_id,
    )
    return Operation(_command(RequestCode.UNREGISTER_BROKER, header), _nothing)


def broker_heartbeat(
    *, cluster_name: str, broker_name: str, broker_addr: str, broker_id: int = 0
) -> Operation[None]:
    """5.x one-way heartbeat; a 4.9.8 NameServer ignores it."""
    header = h.BrokerHeartbeatRequestHeader(
        cluster_name=cluster_name,
        broker_addr=broker_addr,
        broker_name=broker_name,
        broker_id=broker_id,
    )
    command = _command(RequestCode.BROKER_HEARTBEAT, header, oneway=True)
    return Operation(command, _nothing, oneway=True)


def query_data_version(
    *,
    cluster_name: str,
    broker_name: str,
    broker_addr: str,
    broker_id: int,
    data_version: DataVersion,
) -> Operation[tuple[bool, DataVersion | None]]:
    from nsctl.protocol.register import DataVersion

    header = h.QueryDataVersionRequestHeader(
        broker_name=broker_name,
        broker_addr=broker_addr,
        cluster_name=cluster_name,
        broker_id=broker_id,
    )

    def parse(response: RemotingCommand, address: str | None) -> tuple[bool, DataVersion | None]:
        changed = h.QueryDataVersionResponseHeader.from_ext(response.ext_fields).changed
        stored = DataVersion.decode(response.body) if response.body else None
        # A missing `changed` counts as changed, as a Java broker reads it.
        return (True if changed is None else changed), stored

    body = data_version.encode()
    return Operation(_command(RequestCode.QUERY_DATA_VERSION, header, body), parse)


def get_broker_member_group(cluster_name: str, broker_name: str) -> Operation[BrokerMemberGroup]:
    """5.x only; a 4.9.8 NameServer never answers it (the call times out)."""
    header = h.GetBrokerMemberGroupRequestHeader(cluster_name=cluster_name, broker_name=broker_name)
    return Operation(
        _command(RequestCode.GET_BROKER_MEMBER_GROUP, header),
        lambda response, address: BrokerMemberGroup.decode(response.body),
    )


def wipe_write_perm_of_broker(broker_name: str) -> Operation[int]:
    header = h.WipeWritePermOfBrokerRequestHeader(broker_name=broker_name)
    return Operation(
        _command(RequestCode.WIPE_WRITE_PERM_OF_BROKER, header),
        lambda response, address: _required_int(response, "wipeTopicCount"),
    )


def add_write_perm_of_broker(broker_name: str) -> Operation[int]:
    header = h.AddWritePermOfBrokerRequestHeader(broker_name=broker_name)
    return Operation(
        _command(RequestCode.ADD_WRITE_PERM_OF_BROKER, header),
        lambda response, address: _required_int(response, "addTopicCount"),
    )


# --- NameServer configuration --------------------------------------------------------------


def get_namesrv_config() -> Operation[dict[str, str]]:
    from nsctl.protocol.properties import parse_properties

    def parse(response: RemotingCommand, address: str | None) -> dict[str, str]:
        if not response.body:
            return {}
        try:
            text = response.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"config text is not UTF-8: {exc}") from None
        return parse_properties(text)

    return Operation(_command(RequestCode.GET_NAMESRV_CONFIG), parse)


def update_namesrv_config(properties: Mapping[str, Any]) -> Operation[None]:
    from nsctl.protocol.properties import format_properties

    values = {str(k): _config_value(v) for k, v in properties.items()}
    for key, value in values.items():
        # The server reads `key=value` lines unescaped; these characters would change the meaning.
        if not key or any(c in key for c in "=:\r\n \t") or any(c in value for c in "\r\n"):
            raise NameServerUsageError(
                f"cannot send config entry {key!r}={value!r} as a properties line"
            )
    body = format_properties(values).encode("utf-8")
    return Operation(_command(RequestCode.UPDATE_NAMESRV_CONFIG, None, body), _nothing)


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- broker queries (sent to a broker address, not a NameServer) ---------------------------


def get_broker_runtime_info() -> Operation[BrokerRuntimeInfo]:
    # Java sends this one without any ext fields at all.
    from nsctl.protocol.broker_models import BrokerRuntimeInfo

    return Operation(
        _command(RequestCode.GET_BROKER_RUNTIME_INFO),
        lambda response, address: BrokerRuntimeInfo.decode(response.body),
    )


def get_topic_stats_info(topic: str) -> Operation[TopicStatsTable]:
    from nsctl.protocol.broker_models import TopicStatsTable

    header = h.GetTopicStatsInfoRequestHeader(topic=topic)
    return Operation(
        _command(RequestCode.GET_TOPIC_STATS_INFO, header),
        lambda response, address: TopicStatsTable.decode(response.body),
    )


def get_topic_config(topic: str) -> Operation[BrokerTopicConfig]:
    """The topic's config on a broker; `TopicNotFoundError` when the broker has none."""
    from nsctl.protocol.broker_models import BrokerTopicConfig

    header = h.GetTopicConfigRequestHeader(topic=topic, lo=True)
    return Operation(
        _command(RequestCode.GET_TOPIC_CONFIG, header),
        lambda response, address: BrokerTopicConfig.decode(response.body),
    )


# --- broker administration (sent to a broker address) --------------------------------------
# The writes answer SUCCESS with no body (17 with the remark "not set any response code", the
# default remark of a response the broker never cleared); a refusal (29 INVALID_PARAMETER for a
# bad or system topic) is raised as the typed error of its code.


def update_and_create_topic(
    config: TopicConfig,
    attributes: str | AttributeEdits | None = None,
    *,
    default_topic: str = AUTO_CREATE_TOPIC,
    force: bool = False,
) -> Operation[None]:
    """UPDATE_AND_CREATE_TOPIC: create `config` on the broker, or replace its queue numbers,
    perm, order and flags. `config.attributes` is not sent: attribute changes travel as edit
    text (`+k=v,-k`, `attributes`) that the broker applies to the topic's current attributes;
    none leaves them as they are (what updateTopicPerm relies on)."""
    from nsctl.protocol.broker_admin import AttributeEdits, CreateTopicRequestHeader

    text = attributes.text if isinstance(attributes, AttributeEdits) else (attributes or "")
    header = CreateTopicRequestHeader(
        topic=config.topic_name,
        default_topic=default_topic,
        read_queue_nums=config.read_queue_nums,
        write_queue_nums=config.write_queue_nums,
        perm=config.perm,
        topic_filter_type=config.topic_filter_type,
        topic_sys_flag=config.topic_sys_flag,
        order=config.order,
        attributes=text,
        force=force,
    )
    return Operation(_command(RequestCode.UPDATE_AND_CREATE_TOPIC, header), _nothing)


def delete_topic_in_broker(topic: str) -> Operation[None]:
    """DELETE_TOPIC_IN_BROKER: drop the topic's config (and data) on the broker. The broker
    answers SUCCESS for a topic it does not have, and tells the NameServer nothing: the route
    goes with DELETE_TOPIC_IN_NAMESRV."""
    from nsctl.protocol.broker_admin import DeleteTopicRequestHeader

    header = DeleteTopicRequestHeader(topic=topic)
    return Operation(_command(RequestCode.DELETE_TOPIC_IN_BROKER, header), _nothing)


def update_and_create_subscription_group(config: SubscriptionGroupConfig) -> Operation[None]:
    """UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the whole config as the body (no ext fields)."""
    return Operation(
        _command(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, None, config.encode()), _nothing
    )


def delete_subscription_group(group: str, clean_offset: bool = False) -> Operation[None]:
    """DELETE_SUBSCRIPTIONGROUP; `clean_offset` also drops the group's consumer offsets. Its
    %RETRY% and %DLQ% topics stay: they are deleted as topics."""
    from nsctl.protocol.broker_admin import DeleteSubscriptionGroupRequestHeader

    header = DeleteSubscriptionGroupRequestHeader(group_name=group, clean_offset=clean_offset)
    return Operation(_command(RequestCode.DELETE_SUBSCRIPTIONGROUP, header), _nothing)


def get_all_topic_config() -> Operation[TopicConfigSerializeWrapper]:
    """GET_ALL_TOPIC_CONFIG: the broker's whole topic table, system topics included."""
    from nsctl.protocol.register import TopicConfigSerializeWrapper

    return Operation(
        _command(RequestCode.GET_ALL_TOPIC_CONFIG),
        lambda response, address: TopicConfigSerializeWrapper.decode(response.body),
    )


def get_all_subscription_group_config() -> Operation[SubscriptionGroupWrapper]:
    """GET_ALL_SUBSCRIPTIONGROUP_CONFIG: every group of the broker, predefined ones included."""
    from nsctl.protocol.broker_admin import SubscriptionGroupWrapper

    return Operation(
        _command(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
        lambda response, address: SubscriptionGroupWrapper.decode(response.body),
    )
