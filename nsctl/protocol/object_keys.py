"""fastjson maps whose keys are objects.

A Java map keyed by a bean (`TopicStatsTable.offsetTable`, keyed by `MessageQueue`) goes on the
wire with the key written as a JSON object: `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}`.
That is not JSON, and quoting bare keys (`dialect.loads`) does not help, so it gets its own small
reader: any JSON value may be a key. An object whose keys are all strings or numbers comes back
as a dict; one with an object or array key comes back as `KeyedPairs`, a list of (key, value).
"""

from __future__ import annotations

import json
from typing import Any

from nsctl.protocol.dialect import as_text
from nsctl.protocol.errors import ProtocolError

_SCALARS = json.JSONDecoder()
_WHITESPACE = " \t\n\r"
_MAX_DEPTH = 256


class KeyedPairs(list):
    """The entries of a map with non-scalar keys, in wire order: [(key, value), ...]."""


def loads_object_keys(data: bytes | str, what: str = "body") -> Any:
    """Parse fastjson text that may use objects as map keys; `ProtocolError` on anything else."""
    text = as_text(data, what)
    try:
        value, end = _value(text, _skip(text, 0), 0)
        if _skip(text, end) != len(text):
            raise ValueError(f"unexpected data at offset {_skip(text, end)}")
    except IndexError:
        raise ProtocolError(f"{what} is not JSON: it ends too early") from None
    except ValueError as exc:
        raise ProtocolError(f"{what} is not JSON: {exc}") from None
    return value


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WHITESPACE:
        i += 1
    return i


def _value(text: str, i: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH:
        raise ValueError("it nests too deeply")
    first = text[i]
    if first == "{":
        return _object(text, i + 1, depth)
    if first == "[":
        return _array(text, i + 1, depth)
    return _SCALARS.raw_decode(text, i)


def _object(text: str, i: int, depth: int) -> tuple[Any, int]:
    pairs: list[tuple[Any, Any]] = []
    i = _skip(text, i)
    if text[i] == "}":
        return {}, i + 1
    while True:
        key, i = _value(text, i, depth + 1)
        i = _skip(text, i)
        if text[i] != ":":
            raise ValueError(f"expected ':' at offset {i}")
        value, i = _value(text, _skip(text, i + 1), depth + 1)
        pairs.append((key, value))
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
        elif text[i] == "}":
            i += 1
            break
        else:
            raise ValueError(f"expected ',' or '}}' at offset {i}")
    if all(isinstance(k, (str, int, float)) for k, _ in pairs):
        return dict(pairs), i
    return KeyedPairs(pairs), i


def _array(text: str, i: int, depth: int) -> tuple[list, int]:
    items: list[Any] = []
    i = _skip(text, i)
    if text[i] == "]":
        return items, i + 1
    while True:
        item, i = _value(text, i, depth + 1)
        items.append(item)
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
        elif text[i] == "]":
            return items, i + 1
        else:
            raise ValueError(f"expected ',' or ']' at offset {i}")
