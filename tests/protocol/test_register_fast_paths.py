"""The register body's fast paths give what the checked paths give, for any input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.protocol import dialect
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.register import TopicConfig

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=5),
    st.sampled_from(["6", "SINGLE_TAG", "", "true"]),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers()), max_size=2),
    st.lists(st.integers(), max_size=2),
)
FIELDS = [
    "topicName",
    "readQueueNums",
    "writeQueueNums",
    "perm",
    "topicFilterType",
    "topicSysFlag",
    "order",
    "attributes",
]
TYPICAL = {
    "topicName": st.text(max_size=8),
    "readQueueNums": st.integers(0, 64),
    "writeQueueNums": st.integers(0, 64),
    "perm": st.integers(0, 7),
    "topicFilterType": st.sampled_from(["SINGLE_TAG", "MULTI_TAG", ""]),
    "topicSysFlag": st.integers(0, 3),
    "order": st.booleans(),
    "attributes": st.one_of(st.none(), st.just({})),
}
CONFIGS = st.one_of(
    st.fixed_dictionaries({}, optional={k: v for k, v in TYPICAL.items()}),
    st.fixed_dictionaries({}, optional={k: VALUES for k in FIELDS}),
    VALUES,
)


def outcome(decode, data):
    try:
        return decode(data)
    except ProtocolError as exc:
        return ("error", str(exc))


@settings(max_examples=500, deadline=None)
@given(CONFIGS)
def test_topic_config_fast_path_matches_checked_path(data):
    fast = outcome(TopicConfig.from_wire, data)
    checked = outcome(TopicConfig.from_wire_checked, data)
    assert fast == checked
    assert type(fast) is type(checked)


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(st.characters(blacklist_characters=" "), min_size=1, max_size=8),
    numbers=st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 7)),
    attributes=st.sampled_from(["{}", '{"+a":"1"}', "[]", "{", "{}x"]),
)
def test_compact_entry_empty_attributes_shortcut(name, numbers, attributes):
    text = f"{name} {numbers[0]} {numbers[1]} {numbers[2]} SINGLE_TAG {attributes}"
    config = TopicConfig.from_compact(text)
    try:
        raw = dialect.loads(attributes, "topic attributes")
        expected = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else None
    except ProtocolError:
        expected = None
    assert config.attributes == expected
    assert (config.read_queue_nums, config.write_queue_nums, config.perm) == numbers


ENTRY_PIECES = st.lists(
    st.one_of(
        st.sampled_from(["8", "16", "6", "x", "", "SINGLE_TAG", "MULTI_TAG", "{}", '{"a":"1"}']),
        st.text(max_size=4),
    ),
    max_size=8,
)
ENTRIES = st.lists(
    st.one_of(
        # the usual shape, with names and endings that repeat
        st.tuples(
            st.sampled_from(["T", "a", "Topic-1", "", "é"]),
            st.sampled_from(["8 8 6 SINGLE_TAG {}", "8 8 6 SINGLE_TAG", "1 2 3 MULTI_TAG {}"]),
        ).map(lambda t: (f"{t[0]} {t[1]}").encode()),
        ENTRY_PIECES.map(lambda pieces: " ".join(pieces).encode()),
        st.binary(max_size=12),  # invalid UTF-8 among them
    ),
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(entries=ENTRIES, extra=st.integers(-2, 2), cut=st.integers(0, 8), tail=st.binary(max_size=6))
def test_compact_topic_reader_matches_checked_reader(entries, extra, cut, tail):
    from nsctl.protocol.register import (
        _INT32,
        _read_compact_topics,
        _read_compact_topics_checked,
        _Reader,
    )

    raw = b"".join(_INT32.pack(len(e)) + e for e in entries) + tail
    raw = raw[: max(0, len(raw) - cut)] if cut > 4 else raw
    count = max(0, len(entries) + extra)

    def read(decode):
        reader = _Reader(raw)
        try:
            return decode(reader, count), reader.offset
        except ProtocolError as exc:
            return ("error", str(exc))

    assert read(_read_compact_topics) == read(_read_compact_topics_checked)
