"""The hypothesis fuzzers of tests/robustness, run for many more examples.

    NSCTL_STRESS_EXAMPLES=50000 .venv/bin/python -m pytest tests/stress/test_fuzz_long.py \
        -p no:cacheprovider

Default: 5,000 examples per property.
"""

from __future__ import annotations

import inspect

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness import test_dispatcher_fuzz as dispatcher_fuzz
from tests.robustness import test_frame_mutation_fuzz as frame_fuzz
from tests.robustness.fuzzing import requests
from tests.stress.conftest import env_number

EXAMPLES = int(env_number("NSCTL_STRESS_EXAMPLES", 5000))
LONG = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _inner(test):
    """The property of a robustness test, without its hypothesis decorators and settings."""
    inner = test.hypothesis.inner_test

    def run(*args, **kwargs):
        return inner(*args, **kwargs)

    run.__signature__ = inspect.signature(inner)  # type: ignore[attr-defined]
    return run


test_frame_chunking_long = LONG(
    given(frame_fuzz.mutated, st.data())(
        _inner(frame_fuzz.test_mutated_frames_decode_or_raise_protocol_error_alike_in_any_chunking)
    )
)
test_frame_reencode_long = LONG(
    given(frame_fuzz.mutated)(
        _inner(frame_fuzz.test_what_decodes_from_a_mutated_frame_encodes_and_decodes_again)
    )
)
test_dispatcher_long = LONG(
    given(st.lists(st.tuples(requests(), dispatcher_fuzz.CONNECTIONS, st.booleans()), max_size=4))(
        _inner(dispatcher_fuzz.test_dispatcher_answers_any_request_and_stays_usable)
    )
)
test_dispatcher_wire_long = LONG(
    given(requests())(_inner(dispatcher_fuzz.test_requests_through_the_wire_codec))
)
