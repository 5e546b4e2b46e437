"""Mutation fuzzing of the frame decoder, seeded with every captured Java frame.

tests/protocol/test_properties_hypothesis.py feeds the decoder arbitrary bytes and arbitrary
headers; here the inputs are real frames damaged the way a bad peer or a broken network damages
them (flipped, inserted and deleted bytes, truncation, rewritten length and header words,
spliced frames), which reach much deeper into the header parsers than random bytes do.
"""

from __future__ import annotations

import dataclasses
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsctl.protocol import FrameDecoder, ProtocolError, SerializeType, decode, encode
from tests.robustness import report
from tests.robustness.fuzzing import SEEDS, mutate

LIMIT = 64 * 1024  # small, so that mutated length words hit the limit often
FUZZ_SETTINGS = settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

mutated = st.builds(
    lambda seed, rng_seed, extra: mutate(random.Random(rng_seed), seed) + extra,
    st.sampled_from(SEEDS),
    st.integers(0, 2**32),
    st.sampled_from((b"", b"", b"\x00", SEEDS[0])),
)


def feed_all(data: bytes, cuts: list[int]) -> tuple[list, bool]:
    """Commands decoded from `data` fed in pieces cut at `cuts`, and whether it failed."""
    decoder = FrameDecoder(max_frame_length=LIMIT)
    commands = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        try:
            commands.extend(decoder.feed(data[previous:cut]))
        except ProtocolError:
            assert decoder.buffered == 0
            try:
                decoder.feed(b"x")
            except ProtocolError:
                return commands, True
            raise AssertionError("a failed decoder accepted more input") from None
        assert decoder.buffered < LIMIT
        previous = cut
    return commands, False


@given(mutated, st.data())
@FUZZ_SETTINGS
def test_mutated_frames_decode_or_raise_protocol_error_alike_in_any_chunking(data, draw):
    report.count("frame decoder mutation fuzz")
    # Reference: one byte at a time, which keeps every frame completed before an error.
    reference, failed = feed_all(data, list(range(len(data))))
    whole, whole_failed = feed_all(data, [])
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=6))
    chunked, chunked_failed = feed_all(data, cuts)
    assert whole_failed == chunked_failed == failed
    if failed:  # the frames completed before the error depend on where the chunks end
        assert chunked == reference[: len(chunked)]
        assert whole == reference[: len(whole)]
    else:
        assert whole == chunked == reference


@given(mutated)
@FUZZ_SETTINGS
def test_what_decodes_from_a_mutated_frame_encodes_and_decodes_again(data):
    report.count("frame decoder mutation fuzz")
    try:
        command = decode(data)
    except ProtocolError:
        return
    try:
        again = encode(command)
    except ProtocolError:
        return  # e.g. a JSON-header code that does not fit a ROCKETMQ int16: refused cleanly
    if command.language is None and command.serialize_type == SerializeType.ROCKETMQ:
        # An unknown language number decodes as None and is sent back as OTHER, as Java does.
        command = dataclasses.replace(command, language="OTHER")
    assert decode(again) == command
