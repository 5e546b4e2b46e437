"""Java `.properties` text, as carried by GET/UPDATE_NAMESRV_CONFIG and namesrv.properties."""

from __future__ import annotations

import re

from nsctl.protocol.errors import ProtocolError

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def parse_properties(text: str) -> dict[str, str]:
    """Parse like `java.util.Properties.load`: comments, `=`/`:`/blank separators, escapes,
    backslash line continuation. A malformed `\\uXXXX` escape is a `ProtocolError`."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        key_chars: list[str] = []
        index, size = 0, len(line)
        while index < size:
            char = line[index]
            if char == "\\" and index + 1 < size:
                key_chars.append(line[index : index + 2])
                index += 2
                continue
            if char in "=: \t\f":
                break
            key_chars.append(char)
            index += 1
        # Separator: blanks, then at most one '=' or ':', then blanks.
        while index < size and line[index] in " \t\f":
            index += 1
        if index < size and line[index] in "=:":
            index += 1
        while index < size and line[index] in " \t\f":
            index += 1
        result[_unescape("".join(key_chars))] = _unescape(line[index:])
    return result


#: Java's line terminators; `str.splitlines` would also split at \f, \x1c-\x1e, \x85, ...
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _logical_lines(text: str):
    """The logical lines of `text`, as `java.util.Properties.LineReader` reads them."""
    if "\\" not in text:
        # No continuations: lines, less leading blanks, blank lines and comments.
        for raw in _LINE_BREAK.split(text):
            line = raw.lstrip(" \t\f")
            if line and line[0] not in "#!":
                yield line
        return
    yield from _java_line_reader(text)


def _java_line_reader(text: str):
    """A step-by-step port of Java's LineReader.readLine (JDK 9 and later) over a string,
    with its edge cases: a continuation that leaves the line empty makes a following `#`
    line a comment, and a backslash-newline at the very end yields an (empty) line."""
    index, size = 0, len(text)
    while True:
        line: list[str] = []
        skip_blanks, appended_line_begin, preceding_backslash = True, False, False
        while True:
            if index >= size:
                if line:
                    yield "".join(line[:-1] if preceding_backslash else line)
                return
            char = text[index]
            index += 1
            if skip_blanks:
                if char in " \t\f":
                    continue
                if not appended_line_begin and char in "\r\n":
                    continue
                skip_blanks = appended_line_begin = False
            if not line and char in "#!":
                # A comment: consume the rest of the line.
                end = _LINE_BREAK.search(text, index)
                if end is None:
                    return
                index = end.start() + 1
                skip_blanks = True
                continue
            if char not in "\r\n":
                line.append(char)
                preceding_backslash = not preceding_backslash if char == "\\" else False
                continue
            if not line:
                skip_blanks = True
                continue
            if index >= size:
                yield "".join(line[:-1] if preceding_backslash else line)
                return
            if not preceding_backslash:
                yield "".join(line)
                break
            # A backslash at the end of the line: the next line continues this one.
            line.pop()
            skip_blanks = appended_line_begin = True
            preceding_backslash = False
            if char == "\r" and text[index] == "\n":
                index += 1


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char != "\\" or index + 1 >= size:
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u":
            digits = text[index + 2 : index + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ProtocolError(f"malformed \\uxxxx escape in properties text: {text!r}")
            out.append(chr(int(digits, 16)))
            index += 6
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            index += 2
    return "".join(out)


def format_properties(values: dict[str, str], *, sort: bool = True) -> str:
    """`key=value` lines each ending in a newline, values not escaped (as the NameServer does)."""
    items = sorted(values.items()) if sort else list(values.items())
    return "".join(f"{key}={value}\n" for key, value in items)
