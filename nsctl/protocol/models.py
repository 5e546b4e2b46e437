"""Typed bodies exchanged with a NameServer, with their Java field names on the wire.

Every model has `from_wire(dict)` / `to_wire() -> dict` (Java names, keys in the alphabetical
order fastjson writes, absent values left out) and `decode(bytes)` / `encode() -> bytes`.
Fields a newer server adds are ignored when reading, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from nsctl.protocol import dialect
from nsctl.protocol.codes import MASTER_ID, PERM_READ, PERM_WRITE
from nsctl.protocol.errors import ProtocolError

M = TypeVar("M", bound="WireModel")
W = TypeVar("W")


class WireModel:
    """Shared `decode`/`encode` for the models below, and their `__eq__` and `__repr__` (see
    `wire_model`)."""

    #: fastjson writes the integer keys of this model's maps unquoted.
    BARE_INT_KEYS: ClassVar[bool] = False
    #: The values `__eq__` compares, in field order (set by `wire_model`).
    _compared: ClassVar[Callable[[Any], Any]]

    @classmethod
    def from_wire(cls: type[M], data: Any) -> M:  # pragma: no cover - every model overrides
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:  # pragma: no cover - every model overrides
        raise NotImplementedError

    @classmethod
    def decode(cls: type[M], body: bytes | str | None, *, yielding: bool = False) -> M:
        """`yielding`: for a thread other than the event loop's (see `dialect.loads`)."""
        if not body:
            raise ProtocolError(f"{cls.__name__}: the response has no body")
        return cls.from_wire(dialect.loads(body, cls.__name__, yielding=yielding))

    def encode(self, *, bare_int_keys: bool | None = None) -> bytes:
        bare = self.BARE_INT_KEYS if bare_int_keys is None else bare_int_keys
        return dialect.dumps(self.to_wire(), bare_int_keys=bare).encode("utf-8")

    # What @dataclass generates, written once: same class and equal fields, in field order.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared(self) == self._compared(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq is

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"


def wire_model(cls: type[W]) -> type[W]:
    """`@dataclass(slots=True)` whose `__eq__` and `__repr__` are WireModel's instead of
    generated ones: generating them costs about 0.12 ms a class, and every CLI start imports
    every model. Still a dataclass (`fields`, `replace`, `asdict` work as before)."""
    model = dataclass(slots=True, eq=False, repr=False)(cls)
    model._compared = attrgetter(*(f.name for f in fields(model) if f.compare))
    return model


# ------------------------------------------------------------------------------------------
# Reading helpers: type-checked access that names the offending field.


def _obj(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError(f"{where}: expected an object, got {type(data).__name__}")
    return data


def _str(data: dict, key: str, where: str, default: str | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, (dict, list)):
        raise ProtocolError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value if isinstance(value, str) else str(value)


def _int(data: dict, key: str, where: str, default: int = 0) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ProtocolError(f"{where}.{key}: expected an integer, got {value!r}")


def _bool(data: dict, key: str, where: str, default: bool | None = False) -> bool | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    if isinstance(value, int):
        return value != 0
    raise ProtocolError(f"{where}.{key}: expected a boolean, got {value!r}")


def _map(data: dict, key: str, where: str) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    return _obj(value, f"{where}.{key}")


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(f"{where}.{key}: expected a list, got {type(value).__name__}")
    return value


def _id_map(raw: dict, where: str) -> dict[int, str]:
    """`{brokerId: addr}`; keys arrive as bare integers or as quoted digits."""
    result: dict[int, str] = {}
    for key, value in raw.items():
        try:
            result[int(key)] = str(value)
        except (TypeError, ValueError):
            raise ProtocolError(f"{where}: broker id {key!r} is not an integer") from None
    return result


def _drop_none(items: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in items.items() if v is not None}


# ------------------------------------------------------------------------------------------
# Routes and cluster membership


@wire_model
class QueueData(WireModel):
    broker_name: str
    read_queue_nums: int = 0
    write_queue_nums: int = 0
    perm: int = PERM_READ | PERM_WRITE
    topic_sys_flag: int = 0

    @property
    def readable(self) -> bool:
        return bool(self.perm & PERM_READ)

    @property
    def writable(self) -> bool:
        return bool(self.perm & PERM_WRITE)

    @classmethod
    def from_wire(cls, data: Any) -> QueueData:
        d = _obj(data, "QueueData")
        return cls(
            broker_name=_str(d, "brokerName", "QueueData") or "",
            read_queue_nums=_int(d, "readQueueNums", "QueueData"),
            write_queue_nums=_int(d, "writeQueueNums", "QueueData"),
            perm=_int(d, "perm", "QueueData"),
            topic_sys_flag=_int(d, "topicSysFlag", "QueueData"),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "brokerName": self.broker_name,
            "perm": self.perm,
            "readQueueNums": self.read_queue_nums,
            "topicSysFlag": self.topic_sys_flag,
            "writeQueueNums": self.write_queue_nums,
        }


@wire_model
class BrokerData(WireModel):
    """One broker group: its name, cluster and addresses by broker id (0 = master).

    `enable_acting_master` is None for data from 4.x servers, which do not send the field.
    """

    BARE_INT_KEYS: ClassVar[bool] = True

    cluster: str
    broker_name: str
    broker_addrs: dict[int, str] = field(default_factory=dict)
    enable_acting_master: bool | None = None
    zone_name: str | None = None

    @property
    def master_addr(self) -> str | None:
        return self.broker_addrs.get(MASTER_ID)

    def select_addr(self) -> str | None:
        """The master's address, else the address with the smallest id (a slave)."""
        if MASTER_ID in self.broker_addrs:
            return self.broker_addrs[MASTER_ID]
        return self.broker_addrs[min(self.broker_addrs)] if self.broker_addrs else None

    @classmethod
    def from_wire(cls, data: Any) -> BrokerData:
        d = _obj(data, "BrokerData")
        return cls(
            cluster=_str(d, "cluster", "BrokerData") or "",
            broker_name=_str(d, "brokerName", "BrokerData") or "",
            broker_addrs=_id_map(_map(d, "brokerAddrs", "BrokerData"), "BrokerData.brokerAddrs"),
            enable_acting_master=_bool(d, "enableActingMaster", "BrokerData", None),
            zone_name=_str(d, "zoneName", "BrokerData"),
        )

    def to_wire(self) -> dict[str, Any]:
        return _drop_none(
            {
                "brokerAddrs": dict(sorted(self.broker_addrs.items())),
                "brokerName": self.broker_name,
                "cluster": self.cluster,
                "enableActingMaster": self.enable_acting_master,
                "zoneName": self.zone_name,
            }
        )


@wire_model
class TopicQueueMappingInfo(WireModel):
    """Static-topic mapping of one broker (5.x)."""

    BARE_INT_KEYS: ClassVar[bool] = True

    topic: str
    bname: str
    total_queues: int = 0
    epoch: int = 0
    dirty: bool = False
    scope: str = "__global__"
    curr_id_map: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> TopicQueueMappingInfo:
        d = _obj(data, "TopicQueueMappingInfo")
        raw = _map(d, "currIdMap", "TopicQueueMappingInfo")
        try:
            ids = {int(k): int(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise ProtocolError("TopicQueueMappingInfo.currIdMap: non-integer entry") from None
        return cls(
            topic=_str(d, "topic", "TopicQueueMappingInfo") or "",
            bname=_str(d, "bname", "TopicQueueMappingInfo") or "",
            total_queues=_int(d, "totalQueues", "TopicQueueMappingInfo"),
            epoch=_int(d, "epoch", "TopicQueueMappingInfo"),
            dirty=bool(_bool(d, "dirty", "TopicQueueMappingInfo")),
            scope=_str(d, "scope", "TopicQueueMappingInfo") or "__global__",
            curr_id_map=ids,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "bname": self.bname,
            "currIdMap": dict(sorted(self.curr_id_map.items())),
            "dirty": self.dirty,
            "epoch": self.epoch,
            "scope": self.scope,
            "topic": self.topic,
            "totalQueues": self.total_queues,
        }


@wire_model
class TopicRouteData(WireModel):
    """The answer to GET_ROUTEINFO_BY_TOPIC."""

    queue_datas: list[QueueData] = field(default_factory=list)
    broker_datas: list[BrokerData] = field(default_factory=list)
    filter_server_table: dict[str, list[str]] = field(default_factory=dict)
    order_topic_conf: str | None = None
    topic_queue_mapping_by_broker: dict[str, TopicQueueMappingInfo] | None = None

    def broker(self, broker_name: str) -> BrokerData | None:
        for broker in self.broker_datas:
            if broker.broker_name == broker_name:
                return broker
        return None

    def queue_data(self, broker_name: str) -> QueueData | None:
        for queue in self.queue_datas:
            if queue.broker_name == broker_name:
                return queue
        return None

    def writable_master_queues(self) -> int:
        """Write queues a producer can use: writable QueueData of groups that have a master."""
        masters = {b.broker_name for b in self.broker_datas if b.master_addr}
        return sum(
            q.write_queue_nums for q in self.queue_datas if q.writable and q.broker_name in masters
        )

    @classmethod
    def from_wire(cls, data: Any) -> TopicRouteData:
        d = _obj(data, "TopicRouteData")
        filters = {
            str(addr): [str(s) for s in (servers or [])]
            for addr, servers in _map(d, "filterServerTable", "TopicRouteData").items()
        }
        mapping_raw = d.get("topicQueueMappingByBroker")
        mapping = None
        if mapping_raw is not None:
            mapping = {
                str(name): TopicQueueMappingInfo.from_wire(info)
                for name, info in _obj(mapping_raw, "topicQueueMappingByBroker").items()
            }
        return cls(
            queue_datas=[QueueData.from_wire(q) for q in _list(d, "queueDatas", "TopicRouteData")],
            broker_datas=[
                BrokerData.from_wire(b) for b in _list(d, "brokerDatas", "TopicRouteData")
            ],
            filter_server_table=filters,
            order_topic_conf=_str(d, "orderTopicConf", "TopicRouteData"),
            topic_queue_mapping_by_broker=mapping,
        )

    def to_wire(self) -> dict[str, Any]:
        mapping = None
        if self.topic_queue_mapping_by_broker is not None:
            mapping = {k: v.to_wire() for k, v in self.topic_queue_mapping_by_broker.items()}
        return _drop_none(
            {
                "brokerDatas": [b.to_wire() for b in self.broker_datas],
                "filterServerTable": self.filter_server_table,
                "orderTopicConf": self.order_topic_conf,
                "queueDatas": [q.to_wire() for q in self.queue_datas],
                "topicQueueMappingByBroker": mapping,
            }
        )


@wire_model
class ClusterInfo(WireModel):
    """The answer to GET_BROKER_CLUSTER_INFO."""

    BARE_INT_KEYS: ClassVar[bool] = True

    broker_addr_table: dict[str, BrokerData] = field(default_factory=dict)
    cluster_addr_table: dict[str, list[str]] = field(default_factory=dict)

    def broker_names(self, cluster: str) -> list[str]:
        return sorted(self.cluster_addr_table.get(cluster, []))

    @classmethod
    def from_wire(cls, data: Any) -> ClusterInfo:
        d = _obj(data, "ClusterInfo")
        clusters: dict[str, list[str]] = {}
        for name, members in _map(d, "clusterAddrTable", "ClusterInfo").items():
            if not isinstance(members, list):
                raise ProtocolError(f"ClusterInfo.clusterAddrTable.{name}: expected a list")
            clusters[str(name)] = [str(m) for m in members]
        return cls(
            broker_addr_table={
                str(name): BrokerData.from_wire(b)
                for name, b in _map(d, "brokerAddrTable", "ClusterInfo").items()
            },
            cluster_addr_table=clusters,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "brokerAddrTable": {k: v.to_wire() for k, v in self.broker_addr_table.items()},
            "clusterAddrTable": {k: list(v) for k, v in self.cluster_addr_table.items()},
        }


@wire_model
class TopicList(WireModel):
    topic_list: list[str] = field(default_factory=list)
    broker_addr: str | None = None

    @classmethod
    def from_wire(cls, data: Any) -> TopicList:
        d = _obj(data, "TopicList")
        items = _list(d, "topicList", "TopicList")
        return cls(
            topic_list=list(items)
            if all(type(t) is str for t in items)
            else [str(t) for t in items],
            broker_addr=_str(d, "brokerAddr", "TopicList"),
        )

    def to_wire(self) -> dict[str, Any]:
        return _drop_none({"brokerAddr": self.broker_addr, "topicList": list(self.topic_list)})


@wire_model
class KVTable(WireModel):
    table: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> KVTable:
        d = _obj(data, "KVTable")
        return cls(
            {str(k): str(v) for k, v in _map(d, "table", "KVTable").items() if v is not None}
        )

    def to_wire(self) -> dict[str, Any]:
        return {"table": dict(self.table)}


@wire_model
class BrokerMemberGroup(WireModel):
    """The answer to GET_BROKER_MEMBER_GROUP (5.x), unwrapped from `brokerMemberGroup`."""

    BARE_INT_KEYS: ClassVar[bool] = True

    cluster: str | None
    broker_name: str | None
    broker_addrs: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> BrokerMemberGroup:
        d = _obj(
            _obj(data, "GetBrokerMemberGroupResponseBody").get("brokerMemberGroup") or {},
            "brokerMemberGroup",
        )
        return cls(
            cluster=_str(d, "cluster", "brokerMemberGroup"),
            broker_name=_str(d, "brokerName", "brokerMemberGroup"),
            broker_addrs=_id_map(
                _map(d, "brokerAddrs", "brokerMemberGroup"), "brokerMemberGroup.brokerAddrs"
            ),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "brokerMemberGroup": _drop_none(
                {
                    "brokerAddrs": dict(sorted(self.broker_addrs.items())),
                    "brokerName": self.broker_name,
                    "cluster": self.cluster,
                }
            )
        }


@wire_model
class KVConfigFile(WireModel):
    """The kvConfig.json file: `{"configTable": {namespace: {key: value}}}`."""

    config_table: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> KVConfigFile:
        d = _obj(data, "kvConfig")
        table: dict[str, dict[str, str]] = {}
        for namespace, entries in _map(d, "configTable", "kvConfig").items():
            entries = _obj(entries if entries is not None else {}, f"configTable.{namespace}")
            table[str(namespace)] = {str(k): str(v) for k, v in entries.items() if v is not None}
        return cls(table)

    def to_wire(self) -> dict[str, Any]:
        return {"configTable": self.config_table}
