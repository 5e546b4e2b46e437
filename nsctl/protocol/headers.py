"""Request and response headers: the ext fields of each NameServer call, with Java's names.

A header class lists its fields as annotations, each `str`, `int` or `bool` (or None) and None by
default; `to_ext()` gives the ext-field map (None values left out, booleans as `true`/`false`),
`from_ext()` reads one the way the Java server does: booleans are "equals true, ignoring case", a
malformed number leaves the field None, required fields are not enforced.

An empty string is a value, never "absent": `""` goes out as `""` and comes back as `""`.
The one place Java differs is the ROCKETMQ serialization, where its decoder reads a zero-length
value as null; `from_request` and `java_ext` read a request as a Java peer would, for the code
that plays Java (`nsctl serve`).

Headers are not dataclasses on purpose: `@dataclass` compiles an `__init__`, `__repr__` and
`__eq__` for every class at import, about half a millisecond each, and every CLI start imports
all of them. `Header` reads each subclass's annotations once, into `FIELDS`, and its generic
methods work from that table.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import RemotingCommand

H = TypeVar("H", bound="Header")

#: The range of Java's Long.parseLong (headers read ints and longs alike).
_JAVA_LONG_RANGE = range(-(2**63), 2**63)
_KINDS = {"str": str, "int": int, "bool": bool}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Wire(str):
    """The default of a field whose ext name is not its camelCase name (see `_wire`)."""


def _wire(name: str) -> Any:
    return _Wire(name)


class Header:
    """Base of every header: keyword construction, equality and repr over `FIELDS`."""

    #: (attribute, ext field name, str | int | bool) of each field, in declaration order.
    FIELDS: ClassVar[tuple[tuple[str, str, type], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = list(cls.FIELDS)
        # The class's own annotations (not inherited ones); `inspect` would cost an import.
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        for name, annotation in own.items():
            if name == "FIELDS" or "ClassVar" in str(annotation):
                continue
            default = cls.__dict__.get(name)
            if default is not None and not isinstance(default, _Wire):
                raise TypeError(f"{cls.__name__}.{name}: a header field defaults to None")
            wire = str(default) if isinstance(default, _Wire) else _camel(name)
            setattr(cls, name, None)
            fields.append((name, wire, _kind(cls, name, annotation)))
        cls.FIELDS = tuple(fields)

    def __init__(self, **values: Any) -> None:
        for name, _, _ in self.FIELDS:
            setattr(self, name, values.pop(name, None))
        if values:
            unknown = ", ".join(sorted(values))
            raise TypeError(f"{type(self).__name__} has no field(s) {unknown}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name, _, _ in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq is

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name, _, _ in self.FIELDS)
        return f"{type(self).__qualname__}({fields})"

    @classmethod
    def from_ext(cls: type[H], ext: dict[str, str] | None) -> H:
        """The header these ext fields make: a missing field is None, a present one is read
        as Java reads it (`""` is the empty string; for a boolean it is false, as for Java's
        Boolean.parseBoolean; for a number it is malformed, hence None)."""
        ext = ext or {}
        values: dict[str, Any] = {}
        for name, wire, kind in cls.FIELDS:
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
        for name, wire, kind in self.FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if kind is bool:
                ext[wire] = "true" if value else "false"
            else:
                ext[wire] = str(value)
        return ext


def _kind(cls: type, name: str, annotation: Any) -> type:
    """str, int or bool: what a field's annotation (`int | None`; a string under
    `from __future__ import annotations`) allows besides None."""
    if isinstance(annotation, str):
        names = [part.strip() for part in annotation.split("|")]
    else:
        names = [getattr(t, "__name__", "") for t in getattr(annotation, "__args__", (annotation,))]
    others = [n for n in names if n not in ("None", "NoneType")]
    if len(others) != 1 or others[0] not in _KINDS:
        raise TypeError(f"{cls.__name__}.{name}: a header field is str, int or bool (or None)")
    return _KINDS[others[0]]


def java_ext(command: RemotingCommand) -> dict[str, str]:
    """The ext fields of `command` as a Java peer reads them: over the ROCKETMQ serialization a
    zero-length value is null, which is the same as a missing field to every header; over
    JSON every value, the empty string too, is what was sent."""
    ext = command.ext_fields or {}
    if command.serialize_type == SerializeType.ROCKETMQ:
        return {name: value for name, value in ext.items() if value != ""}
    return dict(ext)


def _java_integer(raw: str) -> int | None:
    """Java's parse of a numeric ext field: an optional sign and decimal digits (any script's),
    nothing else -- no spaces, no underscores; None where Java would throw (and only log)."""
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    if not digits.isdecimal():
        return None
    value = int(raw)
    return value if value in _JAVA_LONG_RANGE else None


# --- KV config ------------------------------------------------------------------------------


class PutKVConfigRequestHeader(Header):
    namespace: str | None = None
    key: str | None = None
    value: str | None = None


class GetKVConfigRequestHeader(Header):
    namespace: str | None = None
    key: str | None = None


class GetKVConfigResponseHeader(Header):
    value: str | None = None


class DeleteKVConfigRequestHeader(Header):
    namespace: str | None = None
    key: str | None = None


class GetKVListByNamespaceRequestHeader(Header):
    namespace: str | None = None


# --- Brokers -------------------------------------------------------------------------------


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


class RegisterBrokerResponseHeader(Header):
    ha_server_addr: str | None = None
    master_addr: str | None = None


class UnRegisterBrokerRequestHeader(Header):
    broker_name: str | None = None
    broker_addr: str | None = None
    cluster_name: str | None = None
    broker_id: int | None = None


class QueryDataVersionRequestHeader(Header):
    broker_name: str | None = None
    broker_addr: str | None = None
    cluster_name: str | None = None
    broker_id: int | None = None


class QueryDataVersionResponseHeader(Header):
    changed: bool | None = None


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


class GetBrokerMemberGroupRequestHeader(Header):
    cluster_name: str | None = None
    broker_name: str | None = None


class WipeWritePermOfBrokerRequestHeader(Header):
    broker_name: str | None = None


class WipeWritePermOfBrokerResponseHeader(Header):
    wipe_topic_count: int | None = None


class AddWritePermOfBrokerRequestHeader(Header):
    broker_name: str | None = None


class AddWritePermOfBrokerResponseHeader(Header):
    add_topic_count: int | None = None


# --- Topics --------------------------------------------------------------------------------


class GetRouteInfoRequestHeader(Header):
    topic: str | None = None
    accept_standard_json_only: bool | None = None


class DeleteTopicFromNamesrvRequestHeader(Header):
    topic: str | None = None
    cluster_name: str | None = None


class RegisterTopicRequestHeader(Header):
    topic: str | None = None


class GetTopicsByClusterRequestHeader(Header):
    cluster: str | None = None  # sic: not clusterName


# --- broker queries (answered by a broker, not a NameServer) --------------------------------


class GetTopicStatsInfoRequestHeader(Header):
    topic: str | None = None
    lo: bool | None = None  # "logical": static-topic aware; mqadmin leaves it out here


class GetTopicConfigRequestHeader(Header):
    topic: str | None = None
    lo: bool | None = None


#: Ext fields the 5.x client hooks add to requests; a NameServer reads only the zone pair.
ZONE_NAME_EXT = "__ZONE_NAME"
ZONE_MODE_EXT = "__ZONE_MODE"
