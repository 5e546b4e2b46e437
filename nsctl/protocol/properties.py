"""Java `.properties` text, as carried by GET/UPDATE_NAMESRV_CONFIG and namesrv.properties."""

from __future__ import annotations

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


def _logical_lines(text: str):
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


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
