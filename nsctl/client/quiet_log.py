"""The logger of the blocking client path, which imports `logging` only when a record could
be shown.

Every CLI command runs the blocking path, whose only log lines are DEBUG and INFO ones (a
connection opened, a NameServer failed over). Importing `logging` for them costs about 2 ms a
start (it brings `string`, `weakref` and friends). Until something imports `logging`, nothing
can have configured a handler or a level, so the root logger's default WARNING level would
drop such a record anyway: those calls are skipped until then. Once `logging` is imported
(an application using the library, `nsctl serve`), every call goes to the real logger.
"""

from __future__ import annotations

import sys
from typing import Any


class QuietLogger:
    """`logging.getLogger(name)` for `debug` and `info`, without importing `logging` first."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self._log(10, message, args, kwargs)

    def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self._log(20, message, args, kwargs)

    def _log(self, level: int, message: str, args: tuple, kwargs: dict[str, Any]) -> None:
        import logging

        logger = logging.getLogger(self.name)
        if logger.isEnabledFor(level):
            # The record names the caller of debug()/info(), as with a logger of its own.
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
            logger.log(level, message, *args, **kwargs)
