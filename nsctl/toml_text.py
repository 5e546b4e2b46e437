"""TOML text to data with the line of a syntax error: tomllib (3.11+) or tomli (3.10), whose
errors carry the position only inside their message. Shared by the contexts file and the
declarative files, which both report errors as FILE:LINE."""

from __future__ import annotations

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
