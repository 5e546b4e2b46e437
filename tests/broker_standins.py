"""Broker stand-ins on loopback: real TCP servers that answer broker queries with the frames a
real RocketMQ 5.3.3 broker sent (tests/data/frames-broker-5.3.3), or misbehave on purpose.

`StandInBrokers` runs one asyncio loop on a thread and serves any number of stand-ins on it, so
a test (or the benchmark) can have a hundred brokers cheaply. A captured answer is sent byte for
byte except for its opaque, which is rewritten to the request's (header JSON edited in place,
lengths fixed). Behaviours:

- "answer":  the captured answer for the request code (REQUEST_CODE_NOT_SUPPORTED for others)
- "silent":  accepts and reads, never answers
- "half":    sends the first half of the answer, then closes
- "garbage": answers with bytes that are not a frame (an HTTP error line)
- "error":   answers SYSTEM_ERROR with a remark
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import threading
from collections.abc import Mapping
from pathlib import Path

from nsctl.protocol.codes import RequestCode, ResponseCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import FrameDecoder, encode

FRAMES = Path(__file__).resolve().parent / "data" / "frames-broker-5.3.3"
BEHAVIOURS = ("answer", "silent", "half", "garbage", "error")


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

_OPAQUE = re.compile(rb'"opaque":-?\d+')


def with_opaque(frame: bytes, opaque: int) -> bytes:
    """`frame` (JSON header) with its opaque replaced; every other byte kept."""
    word = struct.unpack_from(">I", frame, 4)[0]
    header_length = word & 0xFFFFFF
    header = frame[8 : 8 + header_length]
    new_header, count = _OPAQUE.subn(b'"opaque":%d' % opaque, header, count=1)
    if count != 1:
        raise ValueError("frame header has no opaque field")
    body = frame[8 + header_length :]
    new_word = (word & 0xFF000000) | len(new_header)
    return struct.pack(">II", 4 + len(new_header) + len(body), new_word) + new_header + body


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


class StandInBrokers:
    """Any number of stand-in brokers on 127.0.0.1, served by one loop on a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._servers: list[asyncio.base_events.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self.requests: dict[str, list[RemotingCommand]] = {}
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def add(
        self,
        behaviour: str = "answer",
        *,
        answers: Mapping[int, bytes] | None = None,
        port: int = 0,
    ) -> str:
        """Start one stand-in (on `port`, or an ephemeral one); returns its address. `answers`
        overrides captured answer frames by request code (each a complete frame; its opaque
        is rewritten)."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        frames = {code: captured(name) for code, name in CAPTURED_ANSWERS.items()}
        frames.update(answers or {})
        future = asyncio.run_coroutine_threadsafe(self._start(behaviour, frames, port), self.loop)
        return future.result(10)

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for writer in list(self._writers):
                writer.close()
            for server in self._servers:
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> StandInBrokers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _start(self, behaviour: str, frames: dict[int, bytes], port: int) -> str:
        address_box: list[str] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.add(writer)
            decoder = FrameDecoder()
            try:
                while data := await reader.read(65536):
                    for request in decoder.feed(data):
                        self.requests.setdefault(address_box[0], []).append(request)
                        if not await self._respond(behaviour, frames, request, writer):
                            return
            except (ConnectionError, OSError):
                pass
            finally:
                self._writers.discard(writer)
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", port)
        self._servers.append(server)
        port = server.sockets[0].getsockname()[1]
        address_box.append(f"127.0.0.1:{port}")
        return address_box[0]

    @staticmethod
    async def _respond(
        behaviour: str,
        frames: dict[int, bytes],
        request: RemotingCommand,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; False when the connection is to be closed."""
        if behaviour == "silent":
            return True
        if behaviour == "garbage":
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return True
        if behaviour == "error":
            response = request.make_response(ResponseCode.SYSTEM_ERROR, "broker is overloaded")
            writer.write(encode(response))
            await writer.drain()
            return True
        frame = frames.get(request.code)
        if frame is None:
            response = request.make_response(
                ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
                f"request type {request.code} not supported",
            )
            writer.write(encode(response))
        else:
            answer = with_opaque(frame, request.opaque)
            if behaviour == "half":
                writer.write(answer[: len(answer) // 2])
                await writer.drain()
                return False
            writer.write(answer)
        await writer.drain()
        return True


def refused_address() -> str:
    """An address nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"
