"""The fastjson object-keyed map reader and Java's number text, checked against known Java
outputs and with properties."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsctl.cli.mqadmin.java_format import (
    fixed,
    hashmap_order,
    left,
    parse_double,
    parse_float,
    parse_long,
    right,
)
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.object_keys import KeyedPairs, loads_object_keys

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_standard_json_reads_as_json_does(value):
    text = json.dumps(value)
    assert loads_object_keys(text) == json.loads(text)


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_protocol_errors(data):
    with contextlib.suppress(ProtocolError):
        loads_object_keys(data)


def test_object_keys_come_back_as_pairs():
    value = loads_object_keys('{"m":{{"a":1}:{"b":2}, {"a":2}:[]},"n":{1:"x"}}')
    assert value["m"] == KeyedPairs([({"a": 1}, {"b": 2}), ({"a": 2}, [])])
    assert value["n"] == {1: "x"}
    for bad in ('{"a":1', '{"a" 1}', "[1 2]", '{"a":1}x', "{" * 300 + "}" * 300):
        with pytest.raises(ProtocolError):
            loads_object_keys(bad)


@pytest.mark.parametrize(
    ("value", "decimals", "java"),
    [
        (0.125, 2, "0.13"),  # checked on Java 17; Python's format gives 0.12
        (1.005, 2, "1.01"),
        (2.675, 2, "2.68"),
        (0.23, 4, "0.2300"),
        (-0.001, 2, "-0.00"),
        (117.24137931034483, 2, "117.24"),
        (float("nan"), 2, "NaN"),
        (float("-inf"), 1, "-Infinity"),
        (1e26, 2, "100000000000000000000000000.00"),
        (1.7976931348623157e308, 1, "17976931348623157" + "0" * 292 + ".0"),
        (5e-324, 2, "0.00"),
    ],
)
def test_fixed_rounds_like_java(value, decimals, java):
    assert fixed(value, decimals) == java


def test_java_parsing_rules():
    assert parse_long("-12") == -12
    for bad in (None, "", " 1", "1_0", "1.0", "9223372036854775808"):
        with pytest.raises(ValueError):
            parse_long(bad)
    assert parse_double(" 2.5d ") == 2.5 and parse_double("1e3") == 1000.0
    assert parse_double("-Infinity") == float("-inf")
    for bad in (None, "", "1_0", "inf", "0x10", "abc"):
        with pytest.raises(ValueError):
            parse_double(bad)
    assert parse_float("0.1") == 0.10000000149011612


def test_padding_counts_utf16_units_and_never_cuts():
    assert left("ab", 4) == "ab  " and right("ab", 4) == "  ab"
    assert left("abcdef", 4) == "abcdef" and left(None, 5) == "null "
    assert left("\U0001f600", 4) == "\U0001f600  "  # two UTF-16 units


def test_hashmap_order_follows_java():
    # Longs 0..40 put in reverse: buckets are the values themselves, through two resizes.
    assert hashmap_order(range(40, -1, -1)) == list(range(41))
    # 16 and 0 share a bucket of the default 16: insertion order decides.
    assert hashmap_order([16, 0, 1]) == [16, 0, 1]
    # "Aa" and "BB" have the same String.hashCode (2112): insertion order again.
    assert hashmap_order(["a", "BB", "Aa"]) == ["BB", "Aa", "a"]  # bucket 0, then 97 & 15
    assert hashmap_order(["Aa", "a", "BB"]) == ["Aa", "BB", "a"]
