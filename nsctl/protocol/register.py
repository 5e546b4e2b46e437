"""What a broker sends when it registers: topic configs, data versions, the register body.

The body comes in two forms: JSON, and a zlib-compressed binary layout (`compressed=true`)::

    int32 n, n bytes of DataVersion JSON
    int32 count, then count x (int32 m, m bytes of text):
        "<topic> <read> <write> <perm> <filterType>[ <attributes JSON>]"
    int32 f, f bytes of the filter-server JSON array
    [5.x] int32 k, then k x (int32 len, TopicQueueMappingInfo JSON)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nsctl.protocol import dialect
from nsctl.protocol.codes import PERM_READ, PERM_WRITE, Version
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.models import (
    KVTable,
    TopicQueueMappingInfo,
    WireModel,
    _bool,
    _drop_none,
    _int,
    _list,
    _map,
    _obj,
    _str,
)

_INT32 = struct.Struct(">i")
#: Refuse to inflate a compressed register body beyond this (a zip bomb costs nothing then).
MAX_INFLATED_BODY = 64 * 1024 * 1024


class DataVersion(WireModel):
    """A broker's topic-config version. Equality follows 5.x: stateVersion, timestamp, counter."""

    __slots__ = ("counter", "state_version", "timestamp")

    def __init__(self, counter: int = 0, timestamp: int = 0, state_version: int | None = None):
        self.counter = counter
        self.timestamp = timestamp
        #: None when the sender is a 4.x component, which does not know the field.
        self.state_version = state_version

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataVersion):
            return NotImplemented
        return (
            (self.state_version or 0) == (other.state_version or 0)
            and self.timestamp == other.timestamp
            and self.counter == other.counter
        )

    def __hash__(self) -> int:
        return hash((self.state_version or 0, self.timestamp, self.counter))

    def __repr__(self) -> str:
        return (
            f"DataVersion(counter={self.counter}, timestamp={self.timestamp}, "
            f"state_version={self.state_version})"
        )

    @classmethod
    def from_wire(cls, data: Any) -> DataVersion:
        d = _obj(data, "DataVersion")
        state = d.get("stateVersion")
        return cls(
            counter=_int(d, "counter", "DataVersion"),
            timestamp=_int(d, "timestamp", "DataVersion"),
            state_version=None if state is None else _int(d, "stateVersion", "DataVersion"),
        )

    def to_wire(self) -> dict[str, Any]:
        return _drop_none(
            {
                "counter": self.counter,
                "stateVersion": self.state_version,
                "timestamp": self.timestamp,
            }
        )


@dataclass(slots=True)
class TopicConfig(WireModel):
    topic_name: str
    read_queue_nums: int = 16
    write_queue_nums: int = 16
    perm: int = PERM_READ | PERM_WRITE
    topic_filter_type: str = "SINGLE_TAG"
    topic_sys_flag: int = 0
    order: bool = False
    #: 5.x only; None for 4.x senders.
    attributes: dict[str, str] | None = None

    @classmethod
    def from_wire(cls, data: Any) -> TopicConfig:
        if type(data) is dict:
            # A broker sends 100,000 of these: take well-typed ones without the checks below,
            # which give the same result for them.
            get = data.get
            name = get("topicName")
            read = get("readQueueNums", 16)
            write = get("writeQueueNums", 16)
            perm = get("perm", PERM_READ | PERM_WRITE)
            filter_type = get("topicFilterType", "SINGLE_TAG")
            sys_flag = get("topicSysFlag", 0)
            order = get("order", False)
            attributes = get("attributes")
            if (
                type(name) is str
                and type(read) is int
                and type(write) is int
                and type(perm) is int
                and type(sys_flag) is int
                and type(order) is bool
                and type(filter_type) is str
                and filter_type
                and (attributes is None or (type(attributes) is dict and not attributes))
            ):
                return cls(name, read, write, perm, filter_type, sys_flag, order, attributes)
        return cls.from_wire_checked(data)

    @classmethod
    def from_wire_checked(cls, data: Any) -> TopicConfig:
        """`from_wire` without its fast path: every field converted and checked (its oracle)."""
        d = _obj(data, "TopicConfig")
        attributes = d.get("attributes")
        return cls(
            topic_name=_str(d, "topicName", "TopicConfig") or "",
            read_queue_nums=_int(d, "readQueueNums", "TopicConfig", 16),
            write_queue_nums=_int(d, "writeQueueNums", "TopicConfig", 16),
            perm=_int(d, "perm", "TopicConfig", PERM_READ | PERM_WRITE),
            topic_filter_type=_str(d, "topicFilterType", "TopicConfig") or "SINGLE_TAG",
            topic_sys_flag=_int(d, "topicSysFlag", "TopicConfig"),
            order=bool(_bool(d, "order", "TopicConfig")),
            attributes=None
            if attributes is None
            else {str(k): str(v) for k, v in _obj(attributes, "TopicConfig.attributes").items()},
        )

    def to_wire(self) -> dict[str, Any]:
        return _drop_none(
            {
                "attributes": self.attributes,
                "order": self.order,
                "perm": self.perm,
                "readQueueNums": self.read_queue_nums,
                "topicFilterType": self.topic_filter_type,
                "topicName": self.topic_name,
                "topicSysFlag": self.topic_sys_flag,
                "writeQueueNums": self.write_queue_nums,
            }
        )

    def to_compact(self, *, with_attributes: bool) -> str:
        """One entry of the compressed body; the compact form has no sys flag or order bit."""
        text = (
            f"{self.topic_name} {self.read_queue_nums} {self.write_queue_nums} "
            f"{self.perm} {self.topic_filter_type}"
        )
        if with_attributes:
            text += " " + dialect.dumps(self.attributes or {})
        return text

    @classmethod
    def from_compact(cls, text: str) -> TopicConfig:
        pieces = text.split(" ")
        while pieces and pieces[-1] == "":  # Java's String.split drops trailing empty pieces
            pieces.pop()
        if len(pieces) < 5:
            raise ProtocolError(f"compressed topic entry {text!r} has {len(pieces)} fields, not 5")
        try:
            read, write, perm = int(pieces[1]), int(pieces[2]), int(pieces[3])
        except ValueError:
            raise ProtocolError(
                f"compressed topic entry {text!r} has a non-numeric field"
            ) from None
        attributes = None
        if len(pieces) > 5 and pieces[5] == "{}":
            attributes = {}  # what (nearly) every 5.x topic carries: skip the JSON parser
        elif len(pieces) > 5:
            try:
                raw = dialect.loads(pieces[5], "topic attributes")
                attributes = (
                    {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else None
                )
            except ProtocolError:
                attributes = None  # the Java decoder ignores unparsable attributes too
        return cls(pieces[0], read, write, perm, pieces[4], attributes=attributes)


@dataclass(slots=True)
class TopicConfigSerializeWrapper(WireModel):
    """A broker's topic table with its DataVersion (plus the 5.x static-topic parts)."""

    BARE_INT_KEYS: ClassVar[bool] = True

    topic_config_table: dict[str, TopicConfig] = field(default_factory=dict)
    data_version: DataVersion = field(default_factory=DataVersion)
    mapping_data_version: DataVersion | None = None
    topic_queue_mapping_info_map: dict[str, TopicQueueMappingInfo] | None = None
    #: Passed through untouched: the NameServer never looks inside.
    topic_queue_mapping_detail_map: dict[str, Any] | None = None

    @classmethod
    def from_wire(cls, data: Any) -> TopicConfigSerializeWrapper:
        d = _obj(data, "TopicConfigSerializeWrapper")
        topics = {
            str(name): TopicConfig.from_wire(config)
            for name, config in _map(d, "topicConfigTable", "TopicConfigSerializeWrapper").items()
            if config is not None
        }
        mapping_version = d.get("mappingDataVersion")
        info = d.get("topicQueueMappingInfoMap")
        detail = d.get("topicQueueMappingDetailMap")
        return cls(
            topic_config_table=topics,
            data_version=DataVersion.from_wire(d.get("dataVersion") or {}),
            mapping_data_version=None
            if mapping_version is None
            else DataVersion.from_wire(mapping_version),
            topic_queue_mapping_info_map=None
            if info is None
            else {
                str(k): TopicQueueMappingInfo.from_wire(v)
                for k, v in _obj(info, "topicQueueMappingInfoMap").items()
            },
            topic_queue_mapping_detail_map=None
            if detail is None
            else dict(_obj(detail, "topicQueueMappingDetailMap")),
        )

    def to_wire(self) -> dict[str, Any]:
        info = None
        if self.topic_queue_mapping_info_map is not None:
            info = {k: v.to_wire() for k, v in self.topic_queue_mapping_info_map.items()}
        return _drop_none(
            {
                "dataVersion": self.data_version.to_wire(),
                "mappingDataVersion": None
                if self.mapping_data_version is None
                else self.mapping_data_version.to_wire(),
                "topicConfigTable": {k: v.to_wire() for k, v in self.topic_config_table.items()},
                "topicQueueMappingDetailMap": self.topic_queue_mapping_detail_map,
                "topicQueueMappingInfoMap": info,
            }
        )


@dataclass(slots=True)
class RegisterBrokerBody(WireModel):
    """The body of REGISTER_BROKER."""

    BARE_INT_KEYS: ClassVar[bool] = True

    topic_config_serialize_wrapper: TopicConfigSerializeWrapper = field(
        default_factory=TopicConfigSerializeWrapper
    )
    filter_server_list: list[str] = field(default_factory=list)

    @property
    def topics(self) -> dict[str, TopicConfig]:
        return self.topic_config_serialize_wrapper.topic_config_table

    @property
    def data_version(self) -> DataVersion:
        return self.topic_config_serialize_wrapper.data_version

    @classmethod
    def from_wire(cls, data: Any) -> RegisterBrokerBody:
        d = _obj(data, "RegisterBrokerBody")
        return cls(
            topic_config_serialize_wrapper=TopicConfigSerializeWrapper.from_wire(
                d.get("topicConfigSerializeWrapper") or {}
            ),
            filter_server_list=[str(s) for s in _list(d, "filterServerList", "RegisterBrokerBody")],
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "filterServerList": list(self.filter_server_list),
            "topicConfigSerializeWrapper": self.topic_config_serialize_wrapper.to_wire(),
        }

    @classmethod
    def decode_request(
        cls, body: bytes | None, *, compressed: bool, version: int, yielding: bool = False
    ) -> RegisterBrokerBody:
        """Read a REGISTER_BROKER body the way the server's version rules say.

        Below version 37 the body is a bare TopicConfigSerializeWrapper; `compressed` selects the
        binary layout otherwise. No body means an empty table at DataVersion 0. `yielding`: for
        a thread other than the event loop's (see `dialect.loads`).
        """
        if not body:
            return cls(TopicConfigSerializeWrapper(data_version=DataVersion(0, 0, 0)))
        if version < Version.V3_0_11:
            text = dialect.loads(body, "register body", yielding=yielding)
            return cls(TopicConfigSerializeWrapper.from_wire(text))
        if compressed:
            return cls.decode_compressed(body, with_mappings=version >= Version.V5_0_0)
        return cls.decode(body, yielding=yielding)

    def encode_compressed(self, *, legacy: bool = False) -> bytes:
        """The zlib form. `legacy=True` writes what 4.x brokers write (no attributes, no mappings),
        which 4.x NameServers require."""
        wrapper = self.topic_config_serialize_wrapper
        out = bytearray()
        _put_text(out, dialect.dumps(wrapper.data_version.to_wire()))
        out += _INT32.pack(len(wrapper.topic_config_table))
        for config in wrapper.topic_config_table.values():
            _put_text(out, config.to_compact(with_attributes=not legacy))
        _put_text(out, dialect.dumps(list(self.filter_server_list)))
        if not legacy:
            mappings = list((wrapper.topic_queue_mapping_info_map or {}).values())
            out += _INT32.pack(len(mappings))
            for info in mappings:
                _put_text(out, info.encode().decode("utf-8"))
        return zlib.compress(bytes(out), 9)

    @classmethod
    def decode_compressed(cls, body: bytes, *, with_mappings: bool = True) -> RegisterBrokerBody:
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(body, MAX_INFLATED_BODY)
        except zlib.error as exc:
            raise ProtocolError(f"compressed register body does not inflate: {exc}") from None
        if inflater.unconsumed_tail:
            raise ProtocolError(f"compressed register body inflates past {MAX_INFLATED_BODY} bytes")
        reader = _Reader(raw)
        version = DataVersion.from_wire(dialect.loads(reader.text(), "register DataVersion"))
        count = reader.int32("topic count")
        topics = _read_compact_topics(reader, count)
        filters = dialect.loads(reader.text(), "filter server list")
        if not isinstance(filters, list):
            raise ProtocolError("compressed register body: filter server list is not a list")
        mappings: dict[str, TopicQueueMappingInfo] | None = None
        if with_mappings and reader.remaining >= 4:
            mappings = {}
            for _ in range(reader.int32("mapping count")):
                info = TopicQueueMappingInfo.from_wire(dialect.loads(reader.text(), "mapping"))
                mappings[info.topic] = info
        wrapper = TopicConfigSerializeWrapper(
            topic_config_table=topics, data_version=version, topic_queue_mapping_info_map=mappings
        )
        return cls(wrapper, [str(s) for s in filters])


def _read_compact_topics_checked(reader: _Reader, count: int) -> dict[str, TopicConfig]:
    """The topic entries of a compressed body, each read and checked on its own (the oracle of
    `_read_compact_topics`)."""
    topics: dict[str, TopicConfig] = {}
    text, from_compact = reader.text, TopicConfig.from_compact
    for _ in range(count):
        config = from_compact(text())
        topics[config.topic_name] = config
    return topics


def _read_compact_topics(reader: _Reader, count: int) -> dict[str, TopicConfig]:
    """The topic entries of a compressed body, as `_read_compact_topics_checked` reads them.

    A broker sends up to 100,000 entries that nearly all end the same way ("8 8 6 SINGLE_TAG
    {}"): the part after the name is parsed once per distinct ending. Anything unusual (a bad
    length, bad UTF-8, an entry the parser refuses) goes back to the checked reader from the
    first entry, so errors read exactly as there.
    """
    data, start = reader.data, reader.offset
    offset, end = start, len(data)
    unpack = _INT32.unpack_from
    from_compact = TopicConfig.from_compact
    #: ending -> (read, write, perm, filter type, has attributes), for endings with no or empty
    #: attributes (a dict of them cannot be shared between configs).
    endings: dict[str, tuple[int, int, int, str, bool]] = {}
    topics: dict[str, TopicConfig] = {}
    try:
        for _ in range(count):
            if offset + 4 > end:
                raise ProtocolError("short")
            (length,) = unpack(data, offset)
            offset += 4
            if length < 0 or offset + length > end:
                raise ProtocolError("overrun")
            text = data[offset : offset + length].decode("utf-8")
            offset += length
            name, _, ending = text.partition(" ")
            known = endings.get(ending)
            if known is None:
                config = from_compact(text)
                if config.attributes is None or not config.attributes:
                    endings[ending] = (
                        config.read_queue_nums,
                        config.write_queue_nums,
                        config.perm,
                        config.topic_filter_type,
                        config.attributes is not None,
                    )
            else:
                read, write, perm, filter_type, attributed = known
                config = TopicConfig(
                    name, read, write, perm, filter_type, 0, False, {} if attributed else None
                )
            topics[name] = config
    except (ProtocolError, UnicodeDecodeError):
        reader.offset = start
        return _read_compact_topics_checked(reader, count)
    reader.offset = offset
    return topics


def _put_text(out: bytearray, text: str) -> None:
    raw = text.encode("utf-8")
    out += _INT32.pack(len(raw)) + raw


class _Reader:
    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def int32(self, what: str) -> int:
        if self.remaining < 4:
            raise ProtocolError(f"compressed register body ends inside {what} at {self.offset}")
        (value,) = _INT32.unpack_from(self.data, self.offset)
        self.offset += 4
        if value < 0:
            raise ProtocolError(f"compressed register body: negative {what} at {self.offset - 4}")
        return value

    def text(self) -> str:
        length = self.int32("a length")
        if length > self.remaining:
            raise ProtocolError(
                f"compressed register body: length {length} at {self.offset - 4} overruns the data"
            )
        raw = self.data[self.offset : self.offset + length]
        self.offset += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"compressed register body: text is not UTF-8: {exc}") from None


@dataclass(slots=True)
class RegisterBrokerResult:
    """What a broker learns from registering: its master (for slaves) and the order config."""

    master_addr: str | None = None
    ha_server_addr: str | None = None
    kv_table: KVTable | None = None


def body_crc32(body: bytes | None) -> int:
    """The `bodyCrc32` ext field: CRC-32 of the body bytes, masked to a non-negative int."""
    return zlib.crc32(body or b"") & 0x7FFFFFFF
