"""Request and response headers: the ext fields of each NameServer call, with Java's names.

A header is a dataclass; `to_ext()` gives the ext-field map (None values left out, booleans as
`true`/`false`), `from_ext()` reads one the way the Java server does: booleans are "equals true,
ignoring case", a malformed number leaves the field None, required fields are not enforced.

An empty string is a value, never "absent": `""` goes out as `""` and comes back as `""`.
The one place Java differs is the ROCKETMQ serialization, where its decoder reads a zero-length
value as null; `from_request` and `java_ext` read a request as a Java peer would, for the code
that plays Java (`nsctl serve`).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import RemotingCommand

H = TypeVar("H", bound="Header")

#: What Java's Integer.parseInt / Long.parseLong accept: an optional sign and decimal digits
#: (any script's), nothing else -- no spaces, no underscores.
_JAVA_INTEGER = re.compile(r"[+-]?\d+")
_JAVA_LONG_RANGE = range(-(2**63), 2**63)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Header:
    """Base of every header dataclass."""

    @classmethod
    def from_ext(cls: type[H], ext: dict[str, str] | None) -> H:
        """The header these ext fields make: a missing field is None, a present one is read
        as Java reads it (`""` is the empty string; for a boolean it is false, as for Java's
        Boolean.parseBoolean; for a number it is malformed, hence None)."""
        ext = ext or {}
        values: dict[str, Any] = {}
        for name, wire, kind in _layout(cls):
            raw = ext.get(wire)
            if raw is None:
                values[name] = None
            elif kind is bool:
                values[name] = raw.lower() == "true"
            elif kind is int:
                values[name] = _java_integer(raw)
            else:
                values[name] = raw
        return cls(**values)

    @classmethod
    def from_request(cls: type[H], command: RemotingCommand) -> H:
        """The header as a Java server decodes it from `command` (see `java_ext`)."""
        return cls.from_ext(java_ext(command))

    def to_ext(self) -> dict[str, str]:
        ext: dict[str, str] = {}
        for name, wire, kind in _layout(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            if kind is bool:
                ext[wire] = "true" if value else "false"
            else:
                ext[wire] = str(value)
        return ext


def java_ext(command: RemotingCommand) -> dict[str, str]:
    """The ext fields of `command` as a Java peer reads them: over the ROCKETMQ serialization a
    zero-length value is null, which is the same as a missing field to every header; over
    JSON every value, the empty string too, is what was sent."""
    ext = command.ext_fields or {}
    if command.serialize_type == SerializeType.ROCKETMQ:
        return {name: value for name, value in ext.items() if value != ""}
    return dict(ext)


def _java_integer(raw: str) -> int | None:
    """Java's parse of a numeric ext field; None where it would throw (and only log)."""
    if not _JAVA_INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if value in _JAVA_LONG_RANGE else None


@cache
def _layout(cls: type) -> tuple[tuple[str, str, type], ...]:
    hints = typing.get_type_hints(cls)
    layout = []
    for f in dataclasses.fields(cls):
        kinds = [t for t in typing.get_args(hints[f.name]) if t is not type(None)] or [
            hints[f.name]
        ]
        layout.append((f.name, f.metadata.get("wire", _camel(f.name)), kinds[0]))
    return tuple(layout)


def _wire(name: str) -> Any:
    return field(default=None, metadata={"wire": name})


# --- KV config ------------------------------------------------------------------------------


@dataclass(slots=True)
class PutKVConfigRequestHeader(Header):
    namespace: str | None = None
    key: str | None = None
    value: str | None = None


@dataclass(slots=True)
class GetKVConfigRequestHeader(Header):
    namespace: str | None = None
    key: str | None = None


@dataclass(slots=True)
class GetKVConfigResponseHeader(Header):
    value: str | None = None


@dataclass(slots=True)
class DeleteKVConfigRequestHeader(Header):
    namespace: str | None = None
    key: str | None = None


@dataclass(slots=True)
class GetKVListByNamespaceRequestHeader(Header):
    namespace: str | None = None


# --- Brokers -------------------------------------------------------------------------------


@dataclass(slots=True)
class RegisterBrokerRequestHeader(Header):
    broker_name: str | None = None
    broker_addr: str | None = None
    cluster_name: str | None = None
    ha_server_addr: str | None = None
    broker_id: int | None = None
    compressed: bool | None = None
    body_crc32: int | None = None
    heartbeat_timeout_millis: int | None = None
    enable_acting_master: bool | None = None
    zone_name: str | None = _wire("__ZONE_NAME")


@dataclass(slots=True)
class RegisterBrokerResponseHeader(Header):
    ha_server_addr: str | None = None
    master_addr: str | None = None


@dataclass(slots=True)
class UnRegisterBrokerRequestHeader(Header):
    broker_name: str | None = None
    broker_addr: str | None = None
    cluster_name: str | None = None
    broker_id: int | None = None


@dataclass(slots=True)
class QueryDataVersionRequestHeader(Header):
    broker_name: str | None = None
    broker_addr: str | None = None
    cluster_name: str | None = None
    broker_id: int | None = None


@dataclass(slots=True)
class QueryDataVersionResponseHeader(Header):
    changed: bool | None = None


@dataclass(slots=True)
class BrokerHeartbeatRequestHeader(Header):
    cluster_name: str | None = None
    broker_addr: str | None = None
    broker_name: str | None = None
    broker_id: int | None = None
    epoch: int | None = None
    max_offset: int | None = None
    confirm_offset: int | None = None
    heartbeat_timeout_mills: int | None = None  # sic: "Mills" in this header's Java class
    election_priority: int | None = None


@dataclass(slots=True)
class GetBrokerMemberGroupRequestHeader(Header):
    cluster_name: str | None = None
    broker_name: str | None = None


@dataclass(slots=True)
class WipeWritePermOfBrokerRequestHeader(Header):
    broker_name: str | None = None


@dataclass(slots=True)
class WipeWritePermOfBrokerResponseHeader(Header):
    wipe_topic_count: int | None = None


@dataclass(slots=True)
class AddWritePermOfBrokerRequestHeader(Header):
    broker_name: str | None = None


@dataclass(slots=True)
class AddWritePermOfBrokerResponseHeader(Header):
    add_topic_count: int | None = None


# --- Topics --------------------------------------------------------------------------------


@dataclass(slots=True)
class GetRouteInfoRequestHeader(Header):
    topic: str | None = None
    accept_standard_json_only: bool | None = None


@dataclass(slots=True)
class DeleteTopicFromNamesrvRequestHeader(Header):
    topic: str | None = None
    cluster_name: str | None = None


@dataclass(slots=True)
class RegisterTopicRequestHeader(Header):
    topic: str | None = None


@dataclass(slots=True)
class GetTopicsByClusterRequestHeader(Header):
    cluster: str | None = None  # sic: not clusterName


# --- broker queries (answered by a broker, not a NameServer) --------------------------------


@dataclass(slots=True)
class GetTopicStatsInfoRequestHeader(Header):
    topic: str | None = None
    lo: bool | None = None  # "logical": static-topic aware; mqadmin leaves it out here


@dataclass(slots=True)
class GetTopicConfigRequestHeader(Header):
    topic: str | None = None
    lo: bool | None = None


#: Ext fields the 5.x client hooks add to requests; a NameServer reads only the zone pair.
ZONE_NAME_EXT = "__ZONE_NAME"
ZONE_MODE_EXT = "__ZONE_MODE"
