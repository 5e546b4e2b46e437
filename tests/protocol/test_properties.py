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


# What java.util.Properties.load(InputStream) (JDK 17) reads from these bytes: the file is
# ISO-8859-1, only CR and LF end lines, and a continuation that leaves the line empty is
# followed by Java's own edge cases.
JAVA_READS = [
    (b"a=1\x85b=2\n", {"a": "1\x85b=2"}),
    (b"a=1\x0cb=2\n", {"a": "1\x0cb=2"}),
    (b"\\\n#not a key\nb=2\n", {"b": "2"}),
    (b"x=1\n\\\n", {"": "", "x": "1"}),
    (b"x=1\n\\\r\n", {"x": "1"}),
    (b"k=v\\\n   \\u00e9t\\\r\n\xe9=\\\n", {"k": "v\u00e9t\u00e9="}),
    (b"caf\xe9=na\xefve\n", {"caf\u00e9": "na\u00efve"}),
]


@pytest.mark.parametrize(("data", "expected"), JAVA_READS)
def test_parse_reads_iso_8859_1_text_as_java_does(data, expected):
    assert parse_properties(data.decode("iso-8859-1")) == expected
