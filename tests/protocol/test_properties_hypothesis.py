"""Property tests: round trips through both header codecs, chunking, arbitrary bytes."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsctl.protocol import (
    FrameDecoder,
    LanguageCode,
    ProtocolError,
    RemotingCommand,
    SerializeType,
    decode,
    dialect,
    encode,
)

int32 = st.integers(-(2**31), 2**31 - 1)
int16 = st.integers(-(2**15), 2**15 - 1)
text = st.text(min_size=1, max_size=40)
#: Ext values may be empty: an empty string is a value in both header codecs.
ext = st.dictionaries(text, st.text(max_size=40), max_size=6)
languages = st.sampled_from([member.name for member in LanguageCode])


@st.composite
def commands(draw, serialize_type=None):
    kind = draw(st.sampled_from(list(SerializeType))) if serialize_type is None else serialize_type
    small = kind == SerializeType.ROCKETMQ
    return RemotingCommand(
        code=draw(int16 if small else int32),
        language=draw(languages),
        version=draw(int16 if small else int32),
        opaque=draw(int32),
        flag=draw(st.integers(0, 3)),
        remark=draw(st.one_of(st.none(), text)),
        ext_fields=draw(ext if small else st.one_of(st.none(), ext)),
        body=draw(st.one_of(st.none(), st.binary(min_size=1, max_size=200))),
        serialize_type=kind,
    )


def _normalized(command: RemotingCommand) -> RemotingCommand:
    # The ROCKETMQ header cannot tell an empty ext map from none.
    if command.serialize_type == SerializeType.ROCKETMQ and not command.ext_fields:
        command.ext_fields = None
    return command


@given(commands())
def test_round_trip_both_codecs(command):
    assert decode(encode(command)) == _normalized(command)


@given(st.lists(commands(), min_size=1, max_size=8), st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_chunking_does_not_matter(batch, data):
    stream = b"".join(encode(c) for c in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    decoder = FrameDecoder()
    decoded = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        decoded.extend(decoder.feed(stream[previous:cut]))
        previous = cut
    assert decoded == [_normalized(c) for c in batch]
    assert decoder.buffered == 0


@given(st.lists(commands(), min_size=1, max_size=4))
def test_one_byte_at_a_time(batch):
    stream = b"".join(encode(c) for c in batch)
    decoder = FrameDecoder()
    decoded = []
    for index in range(len(stream)):
        decoded.extend(decoder.feed(stream[index : index + 1]))
    assert decoded == [_normalized(c) for c in batch]


LIMIT = 4096


@given(st.binary(max_size=600))
@settings(max_examples=500)
def test_arbitrary_bytes_only_raise_protocol_error(raw):
    decoder = FrameDecoder(max_frame_length=LIMIT)
    try:
        decoder.feed(raw)
    except ProtocolError:
        return
    assert decoder.buffered <= len(raw)


@given(st.integers(0, 2**31 - 1), st.binary(max_size=64))
def test_length_word_never_makes_the_decoder_buffer_past_the_limit(length, tail):
    decoder = FrameDecoder(max_frame_length=LIMIT)
    out_of_range = length < 4 or length + 4 > LIMIT
    try:
        decoder.feed(struct.pack(">i", length) + tail)
    except ProtocolError:
        assert decoder.buffered == 0
        return
    assert not out_of_range
    assert decoder.buffered <= 4 + len(tail)


@given(st.binary(min_size=8, max_size=300))
@settings(max_examples=500)
def test_arbitrary_headers_of_a_well_formed_frame(payload):
    # A frame with a valid length word but arbitrary header/body bytes, both serialize types.
    for kind in (0, 1):
        word = (kind << 24) | (len(payload) // 2)
        frame = struct.pack(">ii", 4 + len(payload), word) + payload
        with contextlib.suppress(ProtocolError):
            decode(frame)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.one_of(st.text(max_size=8), st.integers(-5, 10**6)), children, max_size=4
        )
    ),
    max_leaves=20,
)


def _stringify(value):
    if isinstance(value, dict):
        return {str(k): _stringify(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


@given(json_values)
def test_dialect_round_trip_with_bare_keys(value):
    if isinstance(value, dict) and len({str(k) for k in value}) != len(value):
        return  # 1 and "1" collide once keys are text, in Java too
    assert dialect.loads(dialect.dumps(value, bare_int_keys=True)) == _stringify(value)


@given(st.text(max_size=200))
def test_dialect_loads_raises_only_protocol_error(raw):
    with contextlib.suppress(ProtocolError):
        dialect.loads(raw)
