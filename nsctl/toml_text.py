"""TOML text to data with the line of a syntax error: tomllib (3.11+) or tomli (3.10), whose
errors carry the position only inside their message; and the line of each key (`key_lines`).
Shared by the contexts file and the declarative files, which both report errors as FILE:LINE."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")


class TomlSyntaxError(ValueError):
    """Text that is not TOML: `line` (1-based, 0 when unknown) and the parser's message
    without its position."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def parse_toml(text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _POSITION.search(message)
        line = int(found.group(1)) if found else getattr(error, "lineno", 0) or 0
        raise TomlSyntaxError(line, _POSITION.sub("", message)) from None


# --- where keys are --------------------------------------------------------------------------

_KEY_PART = re.compile(r'\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|\'([^\']*)\')\s*')


def key_path(text: str) -> tuple[list[str], int] | None:
    """A (dotted) TOML key at the start of `text`: its parts and where it ends."""
    parts: list[str] = []
    at = 0
    while True:
        match = _KEY_PART.match(text, at)
        if match is None or match.end() == at:
            return None
        bare, basic, literal = match.groups()
        if basic is not None:
            try:
                basic = json.loads(f'"{basic}"')
            except ValueError:
                return None
        parts.append(bare if bare is not None else basic if basic is not None else literal)
        at = match.end()
        if at < len(text) and text[at] == ".":
            at += 1
            continue
        return parts, at


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each key of TOML text is: its path (as the parsed data nests it) -> the first line
    that names it. A best-effort scan (the parsers give no positions): tables, dotted and
    quoted keys, inline tables on their line; multi-line strings are skipped."""
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_string = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_string:  # inside a multi-line string
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line.lstrip("[")
            parsed = key_path(inner)
            if parsed is not None:
                table = tuple(parsed[0])
                for end in range(1, len(table) + 1):
                    found.setdefault(table[:end], number)
            continue
        parsed = key_path(line)
        if parsed is None:
            continue
        parts, end = parsed
        if not line[end:].lstrip().startswith("="):
            continue
        path = (*table, *parts)
        for cut in range(len(table) + 1, len(path) + 1):
            found.setdefault(path[:cut], number)
        value = line[end:].lstrip()[1:].lstrip()
        for quote in ('"""', "'''"):
            if value.startswith(quote) and value.count(quote) == 1:
                in_string = quote
        if value.startswith("{"):  # an inline table: its keys are on this line
            for inner in re.finditer(
                r'(?:^|[{,])\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+)\s*=', value
            ):
                key = key_path(inner.group(1))
                if key is not None:
                    found.setdefault((*path, *key[0]), number)
    return found
