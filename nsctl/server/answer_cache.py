"""A cache of encoded answers in front of dispatch, for the questions clients repeat.

Route queries, cluster info and the topic lists are asked again and again with the same header
and only a new opaque (the request id). Their answers depend on that header and on the server's
state, nothing else: not on the connection, the peer or the time (once start-up waiting is
over). So the answer the normal path gave once can be given again, with the new opaque put in.

* **Key**: the whole request frame (length word included, so the opaque's width is part of it)
  with the opaque's bytes taken out: the digits of `"opaque":` in a JSON header, the 4 bytes at
  their fixed offset in a ROCKETMQ header.
* **Value**: the normal path's own encoded answer, split around its opaque. A hit is that answer
  with the new opaque between the two parts, so it is the normal path's answer by construction.
* **Admission** (`admit`): only for `CACHEABLE_CODES`, a frame without body, and only when the
  frame decodes to the same command with a different opaque in the same place, and the answer
  encodes to the same bytes around a different opaque. That rejects an `"opaque"` inside
  extFields, duplicate keys and anything else where the bytes taken out are not the opaque.
  A hit still checks that the JSON digits are a canonical int32 (`007` or `-0` has the key of
  a cached frame but is not one the normal path would answer the same way).
* **Invalidation**: every entry belongs to one state generation (`Dispatcher.state_generation`,
  bumped by every change to the route table, the KV store or the configuration); the caller
  calls `sync` before looking up, and a new generation empties the cache.
* **Bounds**: at most `max_entries` entries and `max_bytes` bytes of keys and answers; the
  oldest entries go first. Frames longer than `MAX_KEY_BYTES` are never cached.
"""

from __future__ import annotations

import dataclasses
import struct

from nsctl.protocol.codes import RequestCode, SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.frame import decode_payload, encode

#: The questions clients, `watch`, `check` and dashboards poll; all read-only.
CACHEABLE_CODES = frozenset(
    {
        RequestCode.GET_ROUTEINFO_BY_TOPIC,
        RequestCode.GET_BROKER_CLUSTER_INFO,
        RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        RequestCode.GET_TOPICS_BY_CLUSTER,
        RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS,
        RequestCode.GET_UNIT_TOPIC_LIST,
        RequestCode.GET_HAS_UNIT_SUB_TOPIC_LIST,
        RequestCode.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
    }
)

#: Route questions are a few hundred bytes; longer frames are not worth a key.
MAX_KEY_BYTES = 4096
DEFAULT_MAX_ENTRIES = 4096
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_OPAQUE_KEY = b'"opaque":'
#: In a ROCKETMQ frame: length word, header-length word, code (2), language (1), version (2).
_BINARY_OPAQUE = 13
#: Length word and serialize type (the top byte of the header-length word).
_FRAME_HEAD = struct.Struct(">iB")
_JSON = SerializeType.JSON
_ROCKETMQ = SerializeType.ROCKETMQ
_INT32_DIGITS = 10  # a JSON opaque with fewer digits than this always fits an int32


class AnswerCache:
    """Encoded answers by opaque-less request frame, for one state generation.

    JSON frames are looked up by their bytes up to the opaque's digits (length word included),
    and the entry says what must follow the digits: finding the end of the digits would cost
    the hot loop a second search. ROCKETMQ frames are looked up by the frame without its 4
    opaque bytes.
    """

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        #: frame up to the opaque's digits -> (frame after them, answer before the opaque,
        #: answer after it, the two answer parts' total length, slot)
        self._json: dict[bytes, tuple[bytes, bytes, bytes, int, int]] = {}
        #: frame without its opaque -> (answer before the opaque, answer after it, their
        #: length, slot)
        self._binary: dict[bytes, tuple[bytes, bytes, int, int]] = {}
        #: (is JSON, key) -> bytes held for it, oldest first: what goes when room is needed
        self._costs: dict[tuple[bool, bytes], int] = {}
        self._bytes = 0
        self.generation: int | None = None
        self.hits = 0
        self.admitted = 0
        #: Hits by slot, one slot per (request code, response code) of the answers admitted:
        #: the metrics' request counter reads them (`slot_keys[i]` is slot i's pair). Kept
        #: across generations; a handful of slots (the cacheable codes' outcomes).
        self.slot_hits: list[int] = []
        self.slot_keys: list[tuple[int, int]] = []
        self._slots: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self._costs)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def sync(self, generation: int) -> None:
        """Forget every answer if the server's state is no longer the one they were made in."""
        if generation != self.generation:
            self._json.clear()
            self._binary.clear()
            self._costs.clear()
            self._bytes = 0
            self.generation = generation

    def answer_hits(self, buf: bytes, offset: int, out: list[bytes], room: int) -> tuple[int, int]:
        """Answer the complete frames of `buf` from `offset` on for as long as they are hits,
        appending the answers' parts to `out`, until the answers reach `room` bytes.

        Returns the offset of the first frame not answered (incomplete, or not a hit: the
        caller gives it to the normal path) and the number of bytes appended. This is the hot
        loop: it never decodes a header.
        """
        json_get = self._json.get
        binary_get = self._binary.get
        find = buf.find
        follows = buf.startswith
        head = _FRAME_HEAD.unpack_from
        append = out.append
        counts = self.slot_hits
        total = len(buf)
        appended = 0
        hits = 0
        while total - offset >= 8:
            length, kind = head(buf, offset)
            end = offset + 4 + length
            if end > total or length < 4 or length > MAX_KEY_BYTES:
                break
            if kind == _JSON:
                start = find(_OPAQUE_KEY, offset + 8, end)
                if start < 0:
                    break
                start += 9
                entry = json_get(buf[offset:start])
                if entry is None:
                    break
                after, before_opaque, after_opaque, size, slot = entry
                stop = end - len(after)
                if not follows(after, stop):
                    break
                digits = buf[start:stop]
                # Inline for the common case (a short positive opaque), else the full check.
                if not (
                    digits.isdigit() and stop - start < _INT32_DIGITS and digits[0] != 0x30
                ) and not _canonical_int32(digits):
                    break
            elif kind == _ROCKETMQ:
                start = offset + _BINARY_OPAQUE
                stop = start + 4
                found = binary_get(buf[offset:start] + buf[stop:end])
                if found is None:
                    break
                before_opaque, after_opaque, size, slot = found
                digits = buf[start:stop]
            else:
                break
            append(before_opaque)
            append(digits)
            append(after_opaque)
            appended += size + stop - start
            hits += 1
            counts[slot] += 1
            offset = end
            if appended >= room:
                break
        self.hits += hits
        return offset, appended

    def admit(
        self, frame: bytes, request: RemotingCommand, response: RemotingCommand, answer: bytes
    ) -> bool:
        """Keep `answer` (`response` encoded), the normal path's answer to `frame` (a whole
        frame, decoded as `request`), for later frames that differ only in their opaque, if
        that is sound (see the module's docstring). Returns whether it was kept."""
        if (
            request.code not in CACHEABLE_CODES
            or request.body
            or request.is_oneway
            or request.is_response
            or len(frame) - 4 > MAX_KEY_BYTES
        ):
            return False
        span = _opaque_span(frame)
        if span is None:
            return False
        start, stop = span
        other = _other_opaque(frame[start:stop], request.serialize_type)
        try:
            again = decode_payload(frame[4:start] + other.raw + frame[stop:])
        except ProtocolError:
            return False
        if again != dataclasses.replace(request, opaque=other.value):
            return False
        parts = _split_answer(answer, frame[start:stop], request.serialize_type)
        if parts is None:
            return False
        before_opaque, after_opaque = parts
        # The answer must depend on the opaque at that place only: encoding it with the other
        # opaque gives the same bytes around it.
        again_encoded = encode(dataclasses.replace(response, opaque=other.value))
        if again_encoded != before_opaque + other.raw + after_opaque:
            return False
        size = len(before_opaque) + len(after_opaque)
        cost = len(frame) - (stop - start) + size
        if cost > self.max_bytes // 4:
            return False
        is_json = request.serialize_type == _JSON
        key = frame[:start] if is_json else frame[:start] + frame[stop:]
        self._forget(is_json, key)  # a JSON entry with the same start and another ending
        self._make_room(cost)
        slot = self._slot(request.code, response.code)
        if is_json:
            self._json[key] = (frame[stop:], before_opaque, after_opaque, size, slot)
        else:
            self._binary[key] = (before_opaque, after_opaque, size, slot)
        self._costs[(is_json, key)] = cost
        self._bytes += cost
        self.admitted += 1
        return True

    def _slot(self, code: int, outcome: int) -> int:
        slot = self._slots.get((code, outcome))
        if slot is None:
            slot = self._slots[(code, outcome)] = len(self.slot_keys)
            self.slot_keys.append((code, outcome))
            self.slot_hits.append(0)
        return slot

    def _forget(self, is_json: bool, key: bytes) -> None:
        cost = self._costs.pop((is_json, key), None)
        if cost is not None:
            (self._json if is_json else self._binary).pop(key)
            self._bytes -= cost

    def _make_room(self, cost: int) -> None:
        costs = self._costs
        while costs and (len(costs) >= self.max_entries or self._bytes + cost > self.max_bytes):
            self._forget(*next(iter(costs)))  # dicts keep insertion order: the oldest


def _canonical_int32(digits: bytes) -> bool:
    """Whether `digits` is how the normal path writes an int32 opaque: optional minus, no
    leading zero (nor `-0`), within range."""
    if digits.isdigit():
        if digits[0] == 0x30 and len(digits) > 1:
            return False
    elif digits[:1] == b"-" and digits[1:].isdigit():
        if digits[1] == 0x30:
            return False
    else:
        return False
    return len(digits) < _INT32_DIGITS or -(2**31) <= int(digits) < 2**31


def _opaque_span(frame: bytes) -> tuple[int, int] | None:
    """Where the opaque's bytes are in `frame`, found the way `AnswerCache.answer_hits` finds
    them (the two must agree; `admit` then proves the place is really the opaque's)."""
    if len(frame) < 8:
        return None
    kind = frame[4]
    if kind == _ROCKETMQ:
        return (_BINARY_OPAQUE, _BINARY_OPAQUE + 4) if len(frame) >= _BINARY_OPAQUE + 8 else None
    if kind != _JSON:
        return None
    start = frame.find(_OPAQUE_KEY, 8)
    if start < 0:
        return None
    start += len(_OPAQUE_KEY)
    stop = frame.find(b",", start)
    if stop < 0:
        stop = len(frame) - 1
    return (start, stop) if _canonical_int32(frame[start:stop]) else None


@dataclasses.dataclass(frozen=True)
class _Opaque:
    value: int
    raw: bytes


def _other_opaque(raw: bytes, kind: int) -> _Opaque:
    """A different opaque of the same width (for JSON, also canonical and in range)."""
    if kind == _ROCKETMQ:
        other = raw[:3] + bytes([raw[3] ^ 1])
        return _Opaque(int.from_bytes(other, "big", signed=True), other)
    last = raw[-1] - 0x30
    digit = last - 1 if last >= 2 else last + 1
    other = raw[:-1] + bytes([0x30 + digit])
    return _Opaque(int(other), other)


def _split_answer(answer: bytes, opaque: bytes, kind: int) -> tuple[bytes, bytes] | None:
    """The encoded answer around its opaque (`opaque` as the request wrote it)."""
    if kind == _ROCKETMQ:
        start = _BINARY_OPAQUE
        if answer[start : start + 4] != opaque:
            return None
        return answer[:start], answer[start + 4 :]
    header_length = int.from_bytes(answer[4:8], "big") & 0xFFFFFF
    marker = _OPAQUE_KEY + opaque
    at = answer.find(marker, 8, 8 + header_length)
    if at < 0:
        return None
    start = at + len(_OPAQUE_KEY)
    return answer[:start], answer[start + len(opaque) :]
