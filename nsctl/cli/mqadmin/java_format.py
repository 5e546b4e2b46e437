"""Java's number parsing, number formatting, padding and HashMap order, for text that must come
out byte for byte as mqadmin prints it.

- `%.Nf` in Java rounds the shortest decimal form of the double half up (0.125 -> "0.13",
  2.675 -> "2.68"), where Python rounds the binary value (0.12, 2.67).
- `Long.parseLong` takes no spaces or underscores; `Double.parseDouble` trims and takes a
  trailing d/f; `Float.parseFloat` keeps float precision.
- `%-22s` pads to a length counted in UTF-16 units and never cuts; `null` prints as "null".
- A Java HashMap iterates by hash bucket, which is what mqadmin's "unsorted" loops follow.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TypeVar

K = TypeVar("K")

_LONG = re.compile(r"[+-]?\d+")
# Java's FloatingDecimal grammar without hex floats: ASCII digits only, optional f/F/d/D.
_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)", re.ASCII
)
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def parse_long(text: str | None) -> int:
    """`Long.parseLong`: ValueError for None, blanks, spaces, underscores, overflow."""
    if text is None or not _LONG.fullmatch(text):
        raise ValueError(f"not a long: {text!r}")
    value = int(text)
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise ValueError(f"out of range for a long: {text!r}")
    return value


def parse_double(text: str | None) -> float:
    """`Double.parseDouble`: surrounding whitespace ignored, NaN/Infinity/1e3/2d accepted."""
    if text is None:
        raise ValueError("null is not a double")
    trimmed = _java_trim(text)
    if not _DOUBLE.fullmatch(trimmed):
        raise ValueError(f"not a double: {text!r}")
    if trimmed[-1] in "fFdD" and not trimmed.endswith("Infinity"):
        trimmed = trimmed[:-1]
    return float(trimmed.replace("Infinity", "inf").replace("NaN", "nan"))


def parse_float(text: str | None) -> float:
    """`Float.parseFloat`: the value rounded to float precision."""
    return to_float(parse_double(text))


def to_float(value: float) -> float:
    """A double rounded to Java `float` (IEEE single) precision, as a Python float."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def fixed(value: float, decimals: int) -> str:
    """Java's `String.format("%.<decimals>f", value)`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    quantum = Decimal(1).scaleb(-decimals)
    # Room for every digit of the largest double (about 1.8e308) plus the decimals.
    exact = Decimal(repr(value)).quantize(quantum, ROUND_HALF_UP, Context(prec=330 + decimals))
    return format(exact, "f")


def java_str(value: object) -> str:
    """What `%s` prints: "null" for None, "true"/"false" for booleans."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def left(value: object, width: int) -> str:
    """`%-<width>s`."""
    text = java_str(value)
    return text + " " * max(0, width - utf16_len(text))


def right(value: object, width: int) -> str:
    """`%<width>s`."""
    text = java_str(value)
    return " " * max(0, width - utf16_len(text)) + text


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def hashmap_order(keys: Iterable[K]) -> list[K]:
    """The iteration order of a `new HashMap<>()` (or HashSet) into which `keys` (strings or
    longs) were put in this order: what mqadmin's loops over decoded maps follow."""
    from nsctl.protocol.java_order import JavaHashSet

    table = JavaHashSet()
    for key in keys:
        table.add(key)
    return list(table)
