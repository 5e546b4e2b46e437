"""The fuzzers' inputs through the real connection path with the answer cache on, against the
same server with it off: mutated Java frames (as in test_frame_mutation_fuzz) and arbitrary
requests (as in test_dispatcher_fuzz), each after cached questions, so that hits, misses,
admissions and malformed frames meet in one read. Both servers must answer the same bytes and
close (or not) alike. The live-socket fuzzer already runs against `nsctl serve`, whose cache is
on by default."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsctl.protocol import ProtocolError, encode
from tests.robustness import canary, report
from tests.robustness.fuzzing import SEEDS, mutate, requests
from tests.server.twins import Twins

FUZZ_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

mutated = st.builds(
    lambda seed, rng_seed: mutate(random.Random(rng_seed), seed),
    st.sampled_from(SEEDS),
    st.integers(0, 2**32),
)


@pytest.fixture
def twins(tmp_path) -> Iterator[tuple[asyncio.AbstractEventLoop, Twins]]:
    """One pair of servers for all examples of a test, so that state built by earlier examples
    is fuzzed too; the canary broker is registered on a connection that stays open."""
    loop = asyncio.new_event_loop()
    pair = Twins(tmp_path)
    loop.run_until_complete(pair.start())
    answers = loop.run_until_complete(pair.exchange(0, encode(canary.register())))
    assert answers[0] == answers[1]
    yield loop, pair
    loop.run_until_complete(pair.stop())
    loop.close()


def _cached_questions() -> bytes:
    return encode(canary.get_route()) * 3


@given(data=mutated, before=st.booleans())
@FUZZ_SETTINGS
def test_mutated_frames_are_answered_alike_with_the_answer_cache(twins, data, before):
    loop, pair = twins
    report.count("answer cache fuzz (mutated frames)")
    stream = _cached_questions() + data if before else data + _cached_questions()
    cached, plain = loop.run_until_complete(pair.exchange_and_close(stream))
    assert cached == plain


@given(batch=st.lists(requests(), min_size=1, max_size=4))
@FUZZ_SETTINGS
def test_arbitrary_requests_are_answered_alike_with_the_answer_cache(twins, batch):
    loop, pair = twins
    report.count("answer cache fuzz (requests)")
    frames = [_cached_questions()]
    for request in batch:
        try:
            frames.append(encode(request))
        except ProtocolError:
            continue
        frames.append(_cached_questions())
    cached, plain = loop.run_until_complete(pair.exchange_and_close(b"".join(frames)))
    assert cached == plain
