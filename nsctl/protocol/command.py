"""`RemotingCommand`: one request, response or one-way message of the remoting protocol."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from nsctl.protocol.codes import DEFAULT_VERSION, ResponseCode, SerializeType
from nsctl.protocol.errors import ProtocolError

FLAG_RESPONSE = 1
FLAG_ONEWAY = 2

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


@dataclass(slots=True)
class RemotingCommand:
    """A decoded frame.

    `ext_fields` is None when the header carries no `extFields` key at all and a dict (possibly
    empty) when it does: the JSON header keeps that difference and the Java server shows it
    (`"extFields":{}` for a header class whose fields are all null).
    `language` is the enum name as sent (`"JAVA"`, `"PYTHON"`); None when the sender used a value
    this side does not know, which Java treats the same way.
    """

    code: int
    language: str | None = "PYTHON"
    version: int = int(DEFAULT_VERSION)
    opaque: int = 0
    flag: int = 0
    remark: str | None = None
    ext_fields: dict[str, str] | None = None
    body: bytes | None = None
    serialize_type: SerializeType = SerializeType.JSON

    @property
    def is_response(self) -> bool:
        return bool(self.flag & FLAG_RESPONSE)

    @property
    def is_oneway(self) -> bool:
        return bool(self.flag & FLAG_ONEWAY)

    @property
    def is_success(self) -> bool:
        return self.code == ResponseCode.SUCCESS

    def ext(self, name: str) -> str | None:
        """One ext field, or None when absent."""
        return self.ext_fields.get(name) if self.ext_fields else None

    def make_response(
        self,
        code: int = ResponseCode.SUCCESS,
        remark: str | None = None,
        *,
        ext_fields: dict[str, str] | None = None,
        body: bytes | None = None,
        language: str | None = "JAVA",
        version: int | None = None,
    ) -> RemotingCommand:
        """The answer to this request: same opaque, response bit set, same serialization."""
        return RemotingCommand(
            code=int(code),
            language=language,
            version=self.version if version is None else version,
            opaque=self.opaque,
            flag=FLAG_RESPONSE,
            remark=remark,
            ext_fields=ext_fields,
            body=body,
            serialize_type=self.serialize_type,
        )


@dataclass
class OpaqueCounter:
    """Request ids: unique per process, wrapping inside the signed 32-bit range like Java's."""

    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next(self) -> int:
        value = next(self._counter) & 0xFFFFFFFF
        return value - 0x100000000 if value > _INT32_MAX else value


def check_int32(value: int, what: str) -> int:
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise ProtocolError(f"{what} {value} does not fit a signed 32-bit int")
    return value
