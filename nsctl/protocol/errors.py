"""The one error type of the protocol layer."""

from __future__ import annotations


class ProtocolError(ValueError):
    """Bytes or JSON that do not follow the RocketMQ remoting protocol.

    The message says what was wrong and where (byte offset or field name), so that a log line is
    enough to find the culprit without a packet capture.
    """
