from __future__ import annotations

import pytest

from nsctl.protocol import ProtocolError
from nsctl.protocol.properties import format_properties, parse_properties


def test_parse_java_properties_forms():
    text = (
        "# comment\n! also a comment\n\n"
        "a=1\nb = two words \nc:3\nd 4\n"
        "e=multi\\\n   line\n"
        "f=tab\\tnew\\nline\\u00e9\n"
        "key\\ with\\ space=x\n"
        "empty=\n"
    )
    assert parse_properties(text) == {
        "a": "1",
        "b": "two words ",
        "c": "3",
        "d": "4",
        "e": "multiline",
        "f": "tab\tnew\nlineé",
        "key with space": "x",
        "empty": "",
    }


def test_malformed_unicode_escape_is_an_error():
    with pytest.raises(ProtocolError):
        parse_properties("a=\\u12G4\n")


def test_format_is_sorted_key_value_lines():
    assert format_properties({"b": "2", "a": "1"}) == "a=1\nb=2\n"
    assert parse_properties(format_properties({"x": "y z"})) == {"x": "y z"}
