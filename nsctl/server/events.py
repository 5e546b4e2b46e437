"""Named log events and `serve --log-format json`.

Every log line an operator may act on carries a stable event name and its fields:
`log.info("...", extra=event("broker.registered", broker_name=..., ...))`. The text format
shows the message as before; `JsonFormatter` writes each record as one JSON object on one line:
`time` (UTC, ISO 8601, milliseconds), `level`, `logger`, `event` (`log` for records without a
name), `message`, the event's fields, and `exception` (the traceback) when there is one. The
README's "Log events" table lists the names; a test keeps it in step with `EVENTS`.
"""

from __future__ import annotations

import json
import logging
import time

#: Every event name the server logs (the README documents each).
EVENTS = frozenset(
    {
        "server.started",
        "server.stopped",
        "metrics.started",
        "broker.registered",
        "broker.unregistered",
        "broker.expired",
        "broker.write_refused",
        "admin.write_refused",
        "config.changed",
        "config.update_refused",
        "config.update_ignored",
        "kv.changed",
        "connection.dropped",
    }
)


def event(name: str, **fields: object) -> dict[str, object]:
    """The `extra=` of a log call for event `name`."""
    return {"event": name, "fields": fields}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (json.dumps escapes every line break)."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        millis = int((record.created - seconds) * 1000)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        out: dict[str, object] = {
            "time": f"{stamp}.{millis:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)
