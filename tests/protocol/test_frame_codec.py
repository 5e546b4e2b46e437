"""Frame codec: both header serializations, limits, malformed input."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from nsctl.protocol import (
    FLAG_ONEWAY,
    FLAG_RESPONSE,
    FrameDecoder,
    ProtocolError,
    RemotingCommand,
    ResponseCode,
    SerializeType,
    decode,
    encode,
)
from nsctl.protocol.command import OpaqueCounter
from nsctl.protocol.headers import java_ext


def route_request(serialize_type=SerializeType.JSON) -> RemotingCommand:
    return RemotingCommand(
        code=105,
        language="JAVA",
        version=409,
        opaque=1,
        ext_fields={"topic": "TopicTest"},
        serialize_type=serialize_type,
    )


def test_json_request_matches_the_reference_bytes():
    frame = encode(route_request())
    assert frame[:8] == bytes.fromhex("00000087 00000083")
    assert frame[8:] == (
        b'{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA",'
        b'"opaque":1,"serializeTypeCurrentRPC":"JSON","version":409}'
    )


def test_rocketmq_request_matches_the_reference_bytes():
    expected = bytes.fromhex(
        "0000002d 01000029 0069 00 0199 00000001 00000000 00000000 00000014"
        "0005 746f706963 00000009 546f70696354657374".replace(" ", "")
    )
    assert encode(route_request(SerializeType.ROCKETMQ)) == expected
    assert decode(expected) == route_request(SerializeType.ROCKETMQ)


def test_rocketmq_response_with_remark_matches_the_reference():
    raw = (
        bytes.fromhex("0000003d 01000039 0016 00 0199 00000103 00000001 00000024".replace(" ", ""))
        + b"No config item, Namespace: NS Key: k"
        + b"\x00\x00\x00\x00"
    )
    command = decode(raw)
    assert command.code == ResponseCode.QUERY_NOT_FOUND
    assert command.remark == "No config item, Namespace: NS Key: k"
    assert command.ext_fields is None
    assert command.is_response
    assert encode(command) == raw


def test_make_response_keeps_opaque_and_serialization():
    request = route_request(SerializeType.ROCKETMQ)
    response = request.make_response(ResponseCode.TOPIC_NOT_EXIST, "nope")
    assert response.opaque == request.opaque
    assert response.flag == FLAG_RESPONSE
    assert response.serialize_type == SerializeType.ROCKETMQ
    assert decode(encode(response)).remark == "nope"


def test_flags():
    oneway = RemotingCommand(code=904, flag=FLAG_ONEWAY)
    assert oneway.is_oneway and not oneway.is_response


def test_rocketmq_writes_an_empty_value_with_length_zero_and_keeps_it():
    command = RemotingCommand(
        code=104,
        remark="",
        ext_fields={"clusterName": "", "brokerName": "b"},
        serialize_type=SerializeType.ROCKETMQ,
    )
    raw = encode(command)
    # Java writes an empty value as a zero-length entry (only null is left out) ...
    assert b"\x00\x0bclusterName\x00\x00\x00\x00" in raw
    decoded = decode(raw)
    assert decoded.remark is None  # ... and an empty remark not at all
    # nsctl's codec keeps the value; reading it as null is for whoever plays Java.
    assert decoded.ext_fields == {"clusterName": "", "brokerName": "b"}
    assert java_ext(decoded) == {"brokerName": "b"}
    assert java_ext(dataclasses.replace(decoded, serialize_type=SerializeType.JSON)) == {
        "clusterName": "",
        "brokerName": "b",
    }


def test_json_keeps_empty_ext_map_and_absent_map_apart():
    assert decode(encode(RemotingCommand(code=0, ext_fields={}))).ext_fields == {}
    assert decode(encode(RemotingCommand(code=0))).ext_fields is None


def test_lenient_json_header_values():
    header = b'{"code":"101","language":"python","opaque":7,"extFields":{"a":1,"b":true}}'
    frame = struct.pack(">ii", 4 + len(header), len(header)) + header
    command = decode(frame)
    assert command.code == 101
    assert command.language == "PYTHON"
    assert command.ext_fields == {"a": "1", "b": "true"}
    assert command.version == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (struct.pack(">i", 16_777_213), "outside"),
        (struct.pack(">i", -5), "outside"),
        (struct.pack(">i", 3) + b"abc", "outside"),
        (struct.pack(">ii", 8, 0x02000000) + b"\0" * 4, "serialize type"),
        (struct.pack(">ii", 8, 100) + b"\0" * 4, "header length"),
        (struct.pack(">ii", 7, 3) + b"{x}", "not valid JSON"),
        (struct.pack(">ii", 6, 2) + b"[]", "not an object"),
        (struct.pack(">ii", 25, 21) + b'{"opaque":2147483648}', "32-bit"),
        (struct.pack(">ii", 8, 4) + b"\xff\xfe\xfd\xfc", "not valid JSON"),
        (struct.pack(">ii", 12, 0x01000008) + b"\0" * 8, "shorter"),
    ],
)
def test_malformed_frames_raise_protocol_error(raw, message):
    with pytest.raises(ProtocolError, match=message):
        FrameDecoder().feed(raw)


def test_limit_is_checked_on_the_length_word_alone():
    decoder = FrameDecoder(max_frame_length=1024)
    with pytest.raises(ProtocolError):
        decoder.feed(struct.pack(">i", 1021))  # 1021 + 4 > 1024: refused before any payload
    decoder = FrameDecoder(max_frame_length=1024)
    assert decoder.feed(struct.pack(">i", 1020)) == []
    assert decoder.expected == 1024


def test_failed_decoder_refuses_more_input():
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError):
        decoder.feed(b"\xff\xff\xff\xff")
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.feed(encode(route_request()))


def test_encoder_refuses_values_the_header_cannot_carry():
    with pytest.raises(ProtocolError):
        encode(RemotingCommand(code=99999, serialize_type=SerializeType.ROCKETMQ))
    with pytest.raises(ProtocolError):
        encode(RemotingCommand(code=1, opaque=2**31))


def test_opaque_counter_wraps_into_negative_like_java():
    counter = OpaqueCounter()
    assert counter.next() == 1
    counter._counter = iter([2**31 - 1, 2**31])  # type: ignore[assignment]
    assert counter.next() == 2**31 - 1
    assert counter.next() == -(2**31)
