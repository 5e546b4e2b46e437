"""Broker stand-ins for tests: `nsctl.standin`'s stand-ins, answering the broker queries with
the frames a real RocketMQ 5.3.3 broker sent (tests/data/frames-broker-5.3.3) unless told
otherwise, or misbehaving on purpose.

`StandInBrokers` runs any number of them on one asyncio loop on a thread, so a test (or the
benchmark) can have a hundred brokers cheaply. A captured answer is sent byte for byte except
for its opaque, which is rewritten to the request's. Behaviours (`nsctl.standin.BEHAVIOURS`):

- "answer":  the captured answer for the request code; other codes as the stand-in answers
- "silent":  accepts and reads, never answers
- "half":    sends the first half of the answer, then closes
- "garbage": answers with bytes that are not a frame (an HTTP error line)
- "error":   answers SYSTEM_ERROR with a remark
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nsctl.protocol.codes import RequestCode, ResponseCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import encode
from nsctl.standin import BEHAVIOURS, with_opaque
from nsctl.standin import StandInBrokers as _StandInBrokers

__all__ = [
    "BEHAVIOURS",
    "CAPTURED_ANSWERS",
    "FRAMES",
    "StandInBrokers",
    "captured",
    "captured_table",
    "frame_body",
    "refused_address",
    "runtime_answer",
    "with_opaque",
]

FRAMES = Path(__file__).resolve().parent / "data" / "frames-broker-5.3.3"


def captured(name: str) -> bytes:
    """The raw bytes of one captured frame file (the name's start is enough: "002_")."""
    matches = sorted(FRAMES.glob(f"{name}*"))
    if len(matches) != 1:
        raise FileNotFoundError(f"{name!r} matches {len(matches)} frames under {FRAMES}")
    return matches[0].read_bytes()


def frame_body(frame: bytes) -> bytes:
    header_length = struct.unpack_from(">I", frame, 4)[0] & 0xFFFFFF
    return frame[8 + header_length :]


#: The captured answer used for each broker request code.
CAPTURED_ANSWERS: dict[int, str] = {
    RequestCode.GET_BROKER_RUNTIME_INFO: "002_GET_BROKER_RUNTIME_INFO-clusterList_response",
    RequestCode.GET_TOPIC_STATS_INFO: "009_GET_TOPIC_STATS_INFO-topicStatus_response",
    RequestCode.GET_TOPIC_CONFIG: "010_GET_TOPIC_CONFIG-topicStatus_response",
}


def runtime_answer(table: Mapping[str, str]) -> bytes:
    """A GET_BROKER_RUNTIME_INFO answer frame (opaque 0) carrying `table`."""
    response = RemotingCommand(
        code=ResponseCode.SUCCESS,
        language="JAVA",
        version=479,
        opaque=0,
        flag=1,
        body=json.dumps({"table": dict(table)}, separators=(",", ":")).encode(),
    )
    return encode(response)


def captured_table() -> dict[str, str]:
    """The runtime table of frame 002 (clusterList on the live broker)."""
    return json.loads(frame_body(captured(CAPTURED_ANSWERS[28])))["table"]


class StandInBrokers(_StandInBrokers):
    """The package's stand-ins, answering the broker queries with captured frames by default."""

    def add(
        self,
        behaviour: str = "answer",
        *,
        answers: Mapping[int, bytes] | None = None,
        port: int = 0,
        **options: Any,
    ) -> str:
        """Start one stand-in (on `port`, or an ephemeral one); returns its address. `answers`
        overrides captured answer frames by request code (each a complete frame; its opaque
        is rewritten)."""
        frames = {code: captured(name) for code, name in CAPTURED_ANSWERS.items()}
        frames.update(answers or {})
        return super().add(behaviour, answers=frames, port=port, **options)


def refused_address() -> str:
    """An address nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"
