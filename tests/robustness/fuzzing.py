"""Inputs for fuzzing, shared by the CI-sized tests here and the long runs in tests/stress.

* `SEEDS`: every frame captured from real Java 4.9.8 / 5.3.3 peers (tests/data), the starting
  points of mutation-based fuzzing;
* `mutate(rng, data)`: byte-level mutations of a frame (flip, overwrite, insert, delete,
  truncate, rewrite the length or header-length word, change the serialize-type byte);
* `raw_case(rng)`: one hostile byte string for a live server, by kind (malformed, truncated,
  oversize length, random type byte, random JSON header, valid header with garbage body, ...);
* hypothesis strategies for the dispatcher fuzz (`requests()`).

Everything takes an explicit `random.Random`, so a failing case is reproduced from its seed.
"""

from __future__ import annotations

import json
import random
import struct

from hypothesis import strategies as st

from nsctl.protocol import frame, headers
from nsctl.protocol.codes import LanguageCode, RequestCode, SerializeType, Version
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.register import DataVersion, RegisterBrokerBody, TopicConfig, body_crc32
from tests.protocol.fixtures import captured_frames

SEEDS: list[bytes] = [captured.raw for captured in captured_frames()]
REQUEST_SEEDS: list[bytes] = [c.raw for c in captured_frames() if c.meta["kind"] == "request"]

INT32 = struct.Struct(">i")
MAX_FRAME = frame.DEFAULT_MAX_FRAME_LENGTH


# --------------------------------------------------------------------------------------------
# Byte mutations


def mutate(rng: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    """Apply 1-4 random byte-level mutations to `data`."""
    out = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        MUTATIONS[rng.randrange(len(MUTATIONS))](rng, out)
    return bytes(out)


def _flip(rng: random.Random, out: bytearray) -> None:
    if out:
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)


def _overwrite(rng: random.Random, out: bytearray) -> None:
    if out:
        out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x7F, 0x80, ord('"'), ord("{"), 0x5C))


def _insert(rng: random.Random, out: bytearray) -> None:
    at = rng.randint(0, len(out))
    out[at:at] = rng.randbytes(rng.randint(1, 16))


def _delete(rng: random.Random, out: bytearray) -> None:
    if out:
        at = rng.randrange(len(out))
        del out[at : at + rng.randint(1, 16)]


def _truncate(rng: random.Random, out: bytearray) -> None:
    del out[rng.randint(0, len(out)) :]


def _length_word(rng: random.Random, out: bytearray) -> None:
    if len(out) >= 4:
        current = INT32.unpack_from(out, 0)[0]
        value = rng.choice(
            (
                current + rng.randint(-8, 8),
                rng.randint(-(2**31), 2**31 - 1),
                0,
                3,
                -1,
                MAX_FRAME - 4,
                MAX_FRAME - 3,
                2**31 - 1,
            )
        )
        INT32.pack_into(out, 0, max(-(2**31), min(2**31 - 1, value)))


def _header_word(rng: random.Random, out: bytearray) -> None:
    if len(out) >= 8:
        word = INT32.unpack_from(out, 4)[0]
        header_length = word & 0xFFFFFF
        header_length = rng.choice(
            (header_length + rng.randint(-8, 8), rng.randrange(1 << 24), 0, len(out))
        )
        INT32.pack_into(out, 4, (word & ~0xFFFFFF) | (header_length & 0xFFFFFF))


def _type_byte(rng: random.Random, out: bytearray) -> None:
    if len(out) >= 5:
        out[4] = rng.randrange(256)


def _splice(rng: random.Random, out: bytearray) -> None:
    other = rng.choice(SEEDS)
    at = rng.randint(0, len(out))
    out[at:] = other[rng.randint(0, len(other)) :]


MUTATIONS = (
    _flip,
    _overwrite,
    _insert,
    _delete,
    _truncate,
    _length_word,
    _header_word,
    _type_byte,
    _splice,
)


# --------------------------------------------------------------------------------------------
# Hostile inputs for a live server


def payload_frame(header: bytes, body: bytes = b"", serialize: int = 0) -> bytes:
    """A frame with a correct length word around an arbitrary header and body."""
    word = ((serialize & 0xFF) << 24) | (len(header) & 0xFFFFFF)
    return INT32.pack(4 + len(header) + len(body)) + INT32.pack(word) + header + body


def _random_json(rng: random.Random, depth: int = 0) -> object:
    choices = ["int", "str", "null", "bool", "float"]
    if depth < 3:
        choices += ["dict", "list"]
    kind = rng.choice(choices)
    if kind == "int":
        return rng.choice((0, -1, 2**31, -(2**31) - 1, 2**63, rng.randint(-1000, 1000)))
    if kind == "str":
        return rng.choice(("", "x" * rng.randint(1, 64), "105", "true", "JAVA", "\u00e9\u4e2d"))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float":
        return rng.choice((1.5, -0.0, 1e308))
    if kind == "dict":
        keys = ["code", "opaque", "flag", "version", "language", "remark", "extFields", "k"]
        return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))}
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return None


def _random_header(rng: random.Random) -> bytes:
    if rng.random() < 0.7:
        header = {
            "code": rng.choice([*map(int, RequestCode), rng.randint(-(2**31), 2**31 - 1)]),
            "opaque": rng.randint(-(2**31), 2**31 - 1),
            "flag": rng.choice((0, 0, 1, 2, 3, -1)),
            "version": rng.choice((0, 37, 401, 479, -5, 2**31 - 1)),
        }
        for _ in range(rng.randint(0, 3)):
            header[rng.choice(("extFields", "remark", "language", "code", "flag"))] = _random_json(
                rng
            )
        return json.dumps(header).encode()
    return json.dumps(_random_json(rng)).encode()


def raw_case(rng: random.Random) -> tuple[str, bytes]:
    """One hostile input for a live server: (kind, bytes to send on a fresh connection)."""
    kind = rng.choice(RAW_KINDS)
    seed = rng.choice(REQUEST_SEEDS)
    if kind == "random":
        data = rng.randbytes(rng.randint(1, 512))
    elif kind == "mutated":
        data = mutate(rng, seed)
    elif kind == "truncated":
        data = seed[: rng.randrange(len(seed))]
    elif kind == "oversize-length":
        huge = rng.randint(MAX_FRAME, 2**31 - 1)
        length = rng.choice((MAX_FRAME - 3, MAX_FRAME, 2**31 - 1, huge))
        data = INT32.pack(length) + seed[4 : 4 + rng.randint(0, 64)]
    elif kind == "negative-length":
        data = INT32.pack(rng.randint(-(2**31), 3)) + seed[4:]
    elif kind == "type-byte":
        data = bytearray(seed)
        data[4] = rng.randint(2, 255)
        data = bytes(data)
    elif kind == "header-overrun":
        data = bytearray(seed)
        INT32.pack_into(data, 4, (data[4] << 24) | rng.randint(len(seed) - 7, 0xFFFFFF))
        data = bytes(data)
    elif kind == "json-header":
        data = payload_frame(_random_header(rng), rng.randbytes(rng.randint(0, 32)))
    elif kind == "rocketmq-header":
        data = payload_frame(rng.randbytes(rng.randint(0, 80)), serialize=1)
    elif kind == "garbage-body":
        decoded = frame.decode(seed)
        decoded.body = rng.randbytes(rng.randint(1, 300))
        if rng.random() < 0.5 and decoded.ext_fields is not None:
            decoded.ext_fields["compressed"] = rng.choice(("true", "false"))
        data = frame.encode(decoded)
    else:  # "pipelined": a valid request then garbage on the same connection
        data = seed + rng.randbytes(rng.randint(1, 64))
    return kind, data


RAW_KINDS = (
    "random",
    "mutated",
    "mutated",
    "truncated",
    "oversize-length",
    "negative-length",
    "type-byte",
    "header-overrun",
    "json-header",
    "rocketmq-header",
    "garbage-body",
    "pipelined",
)


# --------------------------------------------------------------------------------------------
# Requests for the dispatcher (hypothesis)

#: Every ext field name a NameServer header reads, plus the few read directly.
EXT_NAMES = sorted(
    {wire for cls in headers.Header.__subclasses__() for _, wire, _ in cls.FIELDS}
    | {"acceptStandardJsonOnly", "cluster", "topic", headers.ZONE_MODE_EXT, headers.ZONE_NAME_EXT}
)

#: Values that reach real state: names the canary uses are deliberately not among them.
NAMES = ("broker-a", "broker-b", "DefaultCluster", "TopicTest", "TBW102", "ns", "k", "")

int32 = st.integers(-(2**31), 2**31 - 1)
int16 = st.integers(-(2**15), 2**15 - 1)
_small_text = st.text(max_size=12)
ext_values = st.one_of(
    st.sampled_from(NAMES),
    _small_text,
    st.sampled_from(("true", "false", "TRUE", " true ", "0", "-1", "1", "2147483648", "1e3")),
    int32.map(str),
    st.sampled_from(("127.0.0.1:10911", "127.0.0.1:10912", "host:notaport", ":")),
)
ext_fields = st.one_of(
    st.none(),
    st.dictionaries(st.one_of(st.sampled_from(EXT_NAMES), _small_text), ext_values, max_size=10),
)


def _register_body(draw, *, compressed: bool) -> bytes:
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(draw(_counters), draw(_counters), 0)
    for name in draw(_topic_names):
        queues = draw(_queues)
        wrapper.topic_config_table[name] = TopicConfig(name, queues, queues)
    return body.encode_compressed() if compressed else body.encode()


_BODY_KINDS = st.sampled_from(
    ("none", "bytes", "register", "register-zlib", "corrupt-register", "json", "text")
)
_json_values = st.recursive(
    st.none() | st.booleans() | int32 | _small_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_small_text, children, max_size=3)
    ),
    max_leaves=8,
)
_bytes = st.binary(max_size=200)
_queues = st.integers(-2, 16)
_topic_names = st.lists(st.sampled_from(NAMES[:5]) | _small_text, max_size=4)
_counters = st.integers(0, 5)
_seeds = st.integers(0, 2**32)
_properties = st.lists(st.tuples(_small_text, _small_text), max_size=4)
_property_tails = st.sampled_from((b"", b"\xff\xfe", b"\\u12"))


@st.composite
def bodies(draw) -> bytes | None:
    kind = draw(_BODY_KINDS)
    if kind == "none":
        return None
    if kind == "bytes":
        return draw(_bytes)
    if kind in ("register", "register-zlib"):
        return _register_body(draw, compressed=kind == "register-zlib")
    if kind == "corrupt-register":
        raw = _register_body(draw, compressed=draw(st.booleans()))
        return mutate(random.Random(draw(_seeds)), raw)
    if kind == "json":
        return json.dumps(draw(_json_values)).encode()
    # properties text (UPDATE_NAMESRV_CONFIG), possibly not UTF-8
    text = "\n".join(f"{k}={v}" for k, v in draw(_properties)).encode()
    return text + draw(_property_tails)


_serializations = st.sampled_from(list(SerializeType))
_codes = {
    small: st.one_of(st.sampled_from(list(map(int, RequestCode))), int16 if small else int32)
    for small in (False, True)
}
_versions = {
    small: st.one_of(st.sampled_from(list(map(int, Version))), int16 if small else int32)
    for small in (False, True)
}
_languages = st.sampled_from([m.name for m in LanguageCode])
_flags = st.one_of(st.sampled_from((0, 0, 0, 1, 2, 3)), int32)
_remarks = st.none() | _small_text
_booleans = st.booleans()
_crc_choice = st.integers(0, 2)
_compressed = st.sampled_from(("true", "false"))
_bodies = bodies()


@st.composite
def requests(draw) -> RemotingCommand:
    """Any request a peer could send: every NameServer code and random ones, random ext fields
    and bodies (register bodies plain, zlib-compressed, corrupted), right or wrong CRCs."""
    serialize = draw(_serializations)
    small = serialize == SerializeType.ROCKETMQ
    code = draw(_codes[small])
    ext = draw(ext_fields)
    body = draw(_bodies)
    if ext is not None and body is not None and draw(_booleans):
        good = body_crc32(body)
        ext["bodyCrc32"] = str((good, good ^ 1, 0)[draw(_crc_choice)])
        if draw(_booleans):
            ext["compressed"] = draw(_compressed)
    if small and ext is not None:
        ext = {k: v for k, v in ext.items() if k and v} or None
    return RemotingCommand(
        code=code,
        language=draw(_languages),
        version=draw(_versions[small]),
        opaque=draw(int32),
        flag=draw(_flags),
        remark=draw(_remarks),
        ext_fields=ext,
        body=body,
        serialize_type=serialize,
    )
