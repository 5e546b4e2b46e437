"""Frames: bytes <-> `RemotingCommand`, with both header serializations. No I/O.

Layout of a frame (all big-endian)::

    int32 L        length of what follows (4 + H + B), not counting these 4 bytes
    int32 W        serialize type in the top byte, header length H in the low 24 bits
    H bytes        header: JSON text, or the ROCKETMQ binary layout
    B bytes        body

`FrameDecoder` is fed whatever the socket produced and hands back complete commands. It rejects
a length word above the frame limit as soon as it sees it, before buffering any of that frame.
"""

from __future__ import annotations

import json
import struct
from json.encoder import encode_basestring  # type: ignore[attr-defined]

from nsctl.protocol import dialect
from nsctl.protocol.codes import LanguageCode, SerializeType
from nsctl.protocol.command import RemotingCommand, check_int32
from nsctl.protocol.errors import ProtocolError

#: Java's `com.rocketmq.remoting.frameMaxLength` default: the limit on L + 4.
DEFAULT_MAX_FRAME_LENGTH = 16_777_216

_MAX_HEADER_LENGTH = 0xFFFFFF
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_FRAME_PREFIX = struct.Struct(">ii")
_ROCKETMQ_FIXED = struct.Struct(">hbhiii")  # code, language, version, opaque, flag, remark len
_LANGUAGE_BY_NUMBER = {member.value: member.name for member in LanguageCode}
_LANGUAGE_BY_NAME = {member.name: member.value for member in LanguageCode}
_SERIALIZE_NAMES = {SerializeType.JSON: "JSON", SerializeType.ROCKETMQ: "ROCKETMQ"}


# --------------------------------------------------------------------------------------------
# Encoding


def encode(command: RemotingCommand) -> bytes:
    """The complete frame for `command`, header in its `serialize_type`."""
    if command.serialize_type == SerializeType.ROCKETMQ:
        header = encode_rocketmq_header(command)
    else:
        header = encode_json_header(command)
    body = command.body or b""
    header_length = len(header)
    if header_length > _MAX_HEADER_LENGTH:
        raise ProtocolError(f"header of {header_length} bytes exceeds the 24-bit length field")
    word = (int(command.serialize_type) << 24) | header_length
    return _FRAME_PREFIX.pack(4 + header_length + len(body), word) + header + body


def encode_json_header(command: RemotingCommand) -> bytes:
    """JSON header with Java's key order (fastjson sorts bean properties alphabetically)."""
    check_int32(command.opaque, "opaque")
    parts = [f'{{"code":{int(command.code)}']
    if command.ext_fields is not None:
        fields = ",".join(
            f"{encode_basestring(str(k))}:{encode_basestring(str(v))}"
            for k, v in command.ext_fields.items()
            if v is not None
        )
        parts.append(f',"extFields":{{{fields}}}')
    parts.append(f',"flag":{int(command.flag)}')
    if command.language is not None:
        parts.append(f',"language":{encode_basestring(command.language)}')
    parts.append(f',"opaque":{int(command.opaque)}')
    if command.remark is not None:
        parts.append(f',"remark":{encode_basestring(command.remark)}')
    parts.append(f',"serializeTypeCurrentRPC":"{_SERIALIZE_NAMES[SerializeType.JSON]}"')
    parts.append(f',"version":{int(command.version)}}}')
    return "".join(parts).encode("utf-8")


def encode_rocketmq_header(command: RemotingCommand) -> bytes:
    """The ROCKETMQ binary header, written as Java writes it: an empty remark is left out; an
    empty ext value is written with length 0. Left out are only a missing value and a field
    without a name (which a reader would take for null)."""
    code, version = int(command.code), int(command.version)
    if not -32768 <= code <= 32767:
        raise ProtocolError(f"code {code} does not fit the ROCKETMQ header's int16 field")
    if not -32768 <= version <= 32767:
        raise ProtocolError(f"version {version} does not fit the ROCKETMQ header's int16 field")
    check_int32(command.opaque, "opaque")
    check_int32(command.flag, "flag")
    language = _LANGUAGE_BY_NAME.get(command.language or "", LanguageCode.OTHER)
    remark = command.remark.encode("utf-8") if command.remark else b""
    entries = bytearray()
    for key, value in (command.ext_fields or {}).items():
        if not key or value is None:
            continue
        raw_key, raw_value = str(key).encode("utf-8"), str(value).encode("utf-8")
        if len(raw_key) > 32767:
            raise ProtocolError(f"ext field name of {len(raw_key)} bytes exceeds 32767")
        entries += _INT16.pack(len(raw_key)) + raw_key + _INT32.pack(len(raw_value)) + raw_value
    return (
        _ROCKETMQ_FIXED.pack(code, language, version, command.opaque, command.flag, len(remark))
        + remark
        + _INT32.pack(len(entries))
        + bytes(entries)
    )


# --------------------------------------------------------------------------------------------
# Decoding


def decode(frame: bytes) -> RemotingCommand:
    """Decode exactly one complete frame (length word included)."""
    decoder = FrameDecoder(max_frame_length=max(len(frame), 8))
    commands = decoder.feed(frame)
    if len(commands) != 1 or decoder.buffered:
        raise ProtocolError(
            f"expected exactly one frame in {len(frame)} bytes, "
            f"found {len(commands)} and {decoder.buffered} bytes left over"
        )
    return commands[0]


def decode_payload(payload: bytes | memoryview) -> RemotingCommand:
    """Decode what follows the length word: header-length word, header, body."""
    if len(payload) < 4:
        raise ProtocolError(f"frame of {len(payload)} bytes has no header-length word")
    (word,) = _INT32.unpack_from(payload, 0)
    kind = (word >> 24) & 0xFF
    header_length = word & 0xFFFFFF
    if header_length > len(payload) - 4:
        raise ProtocolError(
            f"header length {header_length} exceeds the {len(payload) - 4} bytes of the frame"
        )
    header = payload[4 : 4 + header_length]
    body = bytes(payload[4 + header_length :]) or None
    if kind == SerializeType.JSON:
        command = decode_json_header(bytes(header))
    elif kind == SerializeType.ROCKETMQ:
        command = decode_rocketmq_header(header)
    else:
        raise ProtocolError(f"unknown serialize type {kind} in header-length word")
    command.body = body
    return command


def decode_json_header(header: bytes) -> RemotingCommand:
    """Parse a JSON header leniently, the way fastjson does on the Java side."""
    try:
        data = json.loads(header)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"JSON header is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"JSON header is a {type(data).__name__}, not an object")
    if b"\\u" in header and dialect.has_surrogate_escape(header.decode("utf-8", "replace")):
        data = dialect.scrub_surrogates(data)
    language = data.get("language")
    if isinstance(language, int) and not isinstance(language, bool):
        language = _LANGUAGE_BY_NUMBER.get(language)
    elif isinstance(language, str):
        language = language.upper() if language.upper() in _LANGUAGE_BY_NAME else None
    else:
        language = None
    remark = data.get("remark")
    return RemotingCommand(
        code=_header_int(data, "code"),
        language=language,
        version=_header_int(data, "version"),
        opaque=_header_int(data, "opaque"),
        flag=_header_int(data, "flag"),
        remark=None if remark is None else str(remark),
        ext_fields=_ext_fields(data.get("extFields")),
        serialize_type=SerializeType.JSON,
    )


def _header_int(data: dict, name: str) -> int:
    value = data.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ProtocolError(f"JSON header field {name!r} is not a number: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"JSON header field {name!r} is not an integer: {value!r}")
    return check_int32(value, f"JSON header field {name!r}")


def _ext_fields(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError(f"JSON header field 'extFields' is a {type(raw).__name__}, not a map")
    fields: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            fields[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            fields[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            fields[key] = str(value)
    return fields


def decode_rocketmq_header(header: bytes | memoryview) -> RemotingCommand:
    """Parse the ROCKETMQ binary header.

    A zero-length remark is no remark. A zero-length ext value decodes as the empty string
    that was sent: nsctl's codec keeps every value, and reading it as null, as Java does, is
    the business of whoever plays Java (`Header.from_request`). An entry without a name is
    dropped (Java would key it under null).
    """
    size = len(header)
    if size < _ROCKETMQ_FIXED.size + 4:
        raise ProtocolError(f"ROCKETMQ header of {size} bytes is shorter than the fixed 21 bytes")
    code, language, version, opaque, flag, remark_length = _ROCKETMQ_FIXED.unpack_from(header)
    offset = _ROCKETMQ_FIXED.size
    if remark_length < 0 or remark_length > size - offset - 4:
        raise ProtocolError(f"ROCKETMQ remark length {remark_length} at byte 13 overruns header")
    remark = _utf8(header[offset : offset + remark_length], "remark") if remark_length else None
    offset += remark_length
    (ext_length,) = _INT32.unpack_from(header, offset)
    offset += 4
    if ext_length < 0 or ext_length != size - offset:
        raise ProtocolError(
            f"ROCKETMQ ext block length {ext_length} at byte {offset - 4} does not match the "
            f"{size - offset} bytes left in the header"
        )
    ext_fields = _rocketmq_ext_fields(header, offset, size) if ext_length else None
    return RemotingCommand(
        code=code,
        language=_LANGUAGE_BY_NUMBER.get(language),
        version=version,
        opaque=opaque,
        flag=flag,
        remark=remark,
        ext_fields=ext_fields,
        serialize_type=SerializeType.ROCKETMQ,
    )


def _rocketmq_ext_fields(header: bytes | memoryview, offset: int, end: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    while offset < end:
        if end - offset < 2:
            raise ProtocolError(f"ROCKETMQ ext entry at byte {offset} is cut short")
        (key_length,) = _INT16.unpack_from(header, offset)
        offset += 2
        if key_length < 0 or key_length > end - offset - 4:
            raise ProtocolError(f"ROCKETMQ ext key length {key_length} at byte {offset - 2}")
        key = header[offset : offset + key_length]
        offset += key_length
        (value_length,) = _INT32.unpack_from(header, offset)
        offset += 4
        if value_length < 0 or value_length > end - offset:
            raise ProtocolError(f"ROCKETMQ ext value length {value_length} at byte {offset - 4}")
        value = header[offset : offset + value_length]
        offset += value_length
        if key_length:
            fields[_utf8(key, "ext key")] = _utf8(value, "ext value")
    return fields


def _utf8(raw: bytes | memoryview, what: str) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"ROCKETMQ {what} is not UTF-8: {exc}") from None


class FrameDecoder:
    """Incremental decoder: `feed` any chunk, get back every command it completes.

    After a `ProtocolError` the stream is out of sync and the decoder refuses further input;
    the caller closes the connection, as a Java peer would.
    """

    __slots__ = ("_buffer", "_failed", "max_frame_length")

    def __init__(self, max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH) -> None:
        self.max_frame_length = max_frame_length
        self._buffer = bytearray()
        self._failed: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet make a complete frame."""
        return len(self._buffer)

    @property
    def expected(self) -> int | None:
        """Total size of the frame in progress once its length word is in, else None."""
        if len(self._buffer) < 4:
            return None
        return _INT32.unpack_from(self._buffer, 0)[0] + 4

    def feed(self, data: bytes | bytearray | memoryview) -> list[RemotingCommand]:
        if self._failed is not None:
            raise ProtocolError(f"decoder already failed: {self._failed}")
        buffer = self._buffer
        buffer += data
        commands: list[RemotingCommand] = []
        offset = 0
        available = len(buffer)
        try:
            while available - offset >= 4:
                (length,) = _INT32.unpack_from(buffer, offset)
                if length < 4 or length + 4 > self.max_frame_length:
                    raise ProtocolError(
                        f"frame length {length} at stream byte {offset} is outside "
                        f"4..{self.max_frame_length - 4}"
                    )
                if available - offset - 4 < length:
                    break
                start = offset + 4
                commands.append(decode_payload(bytes(buffer[start : start + length])))
                offset = start + length
        except ProtocolError as exc:
            self._failed = exc
            self._buffer = bytearray()
            raise
        if offset:
            del buffer[:offset]
        return commands
