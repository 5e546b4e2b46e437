"""Every captured frame decodes, matches its recorded header, and re-encodes to an equal command."""

from __future__ import annotations

import pytest

from nsctl.protocol import FrameDecoder, SerializeType, decode, encode
from nsctl.protocol.frame import encode_json_header
from tests.protocol.fixtures import captured_frames

FRAMES = captured_frames()


def test_every_fixture_frame_is_present():
    assert len(FRAMES) > 400
    for frame in FRAMES:
        assert frame.path.exists(), frame.name


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.name)
def test_frame_decodes_to_the_recorded_header(frame):
    command = decode(frame.raw)
    header = frame.meta["header"]
    assert command.code == header["code"]
    assert command.opaque == header["opaque"]
    assert command.flag == header["flag"]
    assert command.version == header["version"]
    assert command.language == header["language"]
    assert command.remark == header.get("remark")
    assert (command.ext_fields or {}) == header.get("extFields", {})
    assert command.serialize_type == SerializeType[frame.meta["serialize"]]
    if len(frame.raw) == frame.meta["frame_len"]:  # a few files were trimmed after capture
        assert len(command.body or b"") == frame.meta["body_len"]
    assert command.is_response == (frame.meta["direction"] == "s2c")
    assert command.is_oneway == frame.meta["oneway"]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.name)
def test_reencoding_gives_an_equal_command(frame):
    command = decode(frame.raw)
    again = decode(encode(command))
    assert again == command


def test_java_frames_reencode_byte_for_byte():
    """Java's JSON header has a fixed key order, so our encoder reproduces it exactly.

    Only the hand-made Python frames (language PYTHON, keys in another order) differ.
    """
    differing = [f.name for f in FRAMES if encode(decode(f.raw)) != f.raw]
    assert differing
    for name in differing:
        assert "raw-json" in name
    java = [f for f in FRAMES if "raw" not in f.name]
    assert all(encode(decode(f.raw)) == f.raw for f in java)


def test_whole_capture_through_one_decoder_in_odd_chunks():
    stream = b"".join(f.raw for f in FRAMES)
    decoder = FrameDecoder()
    decoded = []
    for start in range(0, len(stream), 997):
        decoded.extend(decoder.feed(stream[start : start + 997]))
    assert decoder.buffered == 0
    assert decoded == [decode(f.raw) for f in FRAMES]


def test_json_header_sample_from_the_reference():
    frame = next(f for f in FRAMES if f.meta["header"]["code"] == 105 and "hit" in f.name)
    command = decode(frame.raw)
    header = encode_json_header(command)
    assert header.startswith(b'{"code":105,"extFields":{"topic":')
    assert header.endswith(b',"serializeTypeCurrentRPC":"JSON","version":%d}' % command.version)
