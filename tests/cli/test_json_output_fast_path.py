"""The CLI's JSON writer against the standard library's indented output, byte for byte."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.cli.render import dumps_indented

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["\\n", '"', "\u2028", "\x00", "é", "\U0001f600"]),
)
KEYS = st.one_of(st.text(max_size=4), st.integers(-3, 3), st.booleans(), st.none(), st.floats())
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.text(max_size=4), max_size=5),
        st.dictionaries(st.text(max_size=4), children, max_size=4),
        st.dictionaries(KEYS, children, max_size=3),
        st.tuples(children, children),
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(DOCUMENTS)
def test_matches_json_dumps_indent_2(document):
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_a_topic_list():
    document = {"brokerAddr": None, "topicList": [f"T{i}" for i in range(1000)]}
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)
