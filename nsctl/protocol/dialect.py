"""The JSON dialect of RocketMQ bodies.

Java writes bodies with fastjson, which puts integer map keys on the wire unquoted
(`{"brokerAddrs":{0:"10.0.0.1:10911"}}`). `loads` accepts that and standard JSON. `dumps`
writes either standard JSON or, with `bare_int_keys=True`, the Java form byte for byte.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from nsctl.protocol.errors import ProtocolError

# A JSON string (skipped as a whole, so its content is never touched) or an integer key right
# after `{` or `,` that is followed by `:`.
_BARE_KEY = re.compile(r'"(?:[^"\\]|\\.)*"|([{,]\s*)(-?\d+)(\s*:)', re.DOTALL)
_LOWER_HEX_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-f]{4})")
# A `\uD800`-`\uDFFF` escape: JSON allows a lone UTF-16 surrogate, UTF-8 cannot carry one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def utf16_order(text: str) -> bytes:
    """Sort key giving Java's String.compareTo order (UTF-16 code units, not code points)."""
    return text.encode("utf-16-be", "surrogatepass")


def scrub_surrogates(value: Any) -> Any:
    """Replace lone surrogates in every string of `value` with '?', as Java's UTF-8 encoder
    does when it writes such a string out. Without this, one request carrying `"\\ud800"`
    would put a string the server can never encode into its tables and files."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_surrogates(v) for v in value]
    return value


def has_surrogate_escape(text: str) -> bool:
    """Whether JSON text escapes a UTF-16 surrogate (cheap `in` test first: the rare case)."""
    return "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None


def _quote_bare_keys(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(2) is None:
            return match.group(0)
        return f'{match.group(1)}"{match.group(2)}"{match.group(3)}'

    return _BARE_KEY.sub(replace, text)


def as_text(data: bytes | bytearray | memoryview | str, what: str = "body") -> str:
    """A body as text: bytes must be UTF-8 (`ProtocolError` naming `what` otherwise)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} is not UTF-8: {exc}") from None


def loads(
    data: bytes | bytearray | memoryview | str, what: str = "body", *, yielding: bool = False
) -> Any:
    """Parse standard JSON or fastjson output; anything else is a `ProtocolError`.

    `yielding`: for a thread other than the event loop's. The parse then runs a line of Python
    after each JSON object, where the interpreter can hand the GIL to the loop; in one C call,
    a large body would hold it throughout (~10 ms for 10,000 topics).
    """
    text = as_text(data, what)
    try:
        value = _parse(text, _each_object if yielding else None)
    except ValueError as exc:
        raise ProtocolError(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(f"{what} nests too deeply") from None
    return scrub_surrogates(value) if has_surrogate_escape(text) else value


def _parse(text: str, hook: Any = None) -> Any:
    """Standard JSON first (the common case); bare integer keys quoted only when that fails."""
    try:
        return json.loads(text, object_hook=hook)
    except ValueError:
        return json.loads(_quote_bare_keys(text), object_hook=hook)


def _each_object(value: dict) -> dict:
    return value


def dumps(
    value: Any,
    *,
    bare_int_keys: bool = False,
    sort_keys: bool = False,
    ascii_only: bool = False,
) -> str:
    """Compact JSON the Java side reads.

    `bare_int_keys` writes integer keys unquoted as fastjson does by default; `sort_keys` and
    `ascii_only` (upper-case `\\uXXXX`) give the "standard" route encoding of Java servers.
    """
    if bare_int_keys:
        text = "".join(_bare_pieces(value, sort_keys))
    else:
        text = json.dumps(
            _stringify_keys(value, sort_keys) if sort_keys else value,
            separators=(",", ":"),
            ensure_ascii=ascii_only,
        )
    if ascii_only:
        text = _LOWER_HEX_ESCAPE.sub(lambda m: m.group(1) + "\\u" + m.group(2).upper(), text)
    return text


def dumps_in_pieces(value: list | dict, piece: int = 4096) -> str:
    """`dumps(value)` of a list, or of a dict with string keys, made `piece` items at a time:
    each piece is one C call, so that a thread other than the event loop's, making a large
    body, lets the loop in between (a single call holds the GIL for all of it)."""
    encode = _COMPACT.encode
    if isinstance(value, dict):
        items = list(value.items())
        parts = (encode(dict(items[at : at + piece]))[1:-1] for at in range(0, len(items), piece))
        return "{%s}" % ",".join(parts)
    parts = (encode(value[at : at + piece])[1:-1] for at in range(0, len(value), piece))
    return "[%s]" % ",".join(parts)


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _sorted_items(mapping: dict, sort_keys: bool) -> list:
    items = list(mapping.items())
    if sort_keys:
        # Java sorts Long keys numerically and String keys lexically.
        items.sort(key=lambda kv: (isinstance(kv[0], str), kv[0]))
    return items


def _stringify_keys(value: Any, sort_keys: bool) -> Any:
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v, sort_keys) for k, v in _sorted_items(value, sort_keys)}
    if isinstance(value, list):
        return [_stringify_keys(v, sort_keys) for v in value]
    return value


def _bare_pieces(value: Any, sort_keys: bool):
    if isinstance(value, dict):
        yield "{"
        first = True
        for key, item in _sorted_items(value, sort_keys):
            if item is None:
                continue
            if not first:
                yield ","
            first = False
            if isinstance(key, int) and not isinstance(key, bool):
                yield str(key)
            else:
                yield encode_basestring(str(key))
            yield ":"
            yield from _bare_pieces(item, sort_keys)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _bare_pieces(item, sort_keys)
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=False)
