"""`FrameListener` with handlers other than the NameServer's: answers given later (awaitables)
keep the connection's order, raw answers go out as they are, a failing handler closes only its
connection. Real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Hashable

from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import FrameDecoder, encode
from nsctl.server.server import Answer, FrameListener, RawAnswer


class Handler:
    """Answers code 1 after `release` is set, code 2 at once, code 3 with raw bytes, code 4 by
    failing; remembers closed connections."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.closed: list[Hashable] = []

    def handle(self, request: RemotingCommand, conn: Hashable, peer_host: str):
        if request.code == 1:
            return self._later(request)
        if request.code == 3:
            return RawAnswer(encode(request.make_response(0, "raw")))
        if request.code == 4:
            return self._broken()
        return request.make_response(0, f"now {request.opaque}")

    async def _later(self, request: RemotingCommand) -> Answer:
        await self.release.wait()
        return request.make_response(0, f"later {request.opaque}")

    async def _broken(self) -> Answer:
        raise RuntimeError("handler bug")

    def connection_closed(self, conn: Hashable) -> None:
        self.closed.append(conn)


def _request(code: int, opaque: int) -> bytes:
    return encode(RemotingCommand(code=code, language="PYTHON", version=479, opaque=opaque))


async def _read(reader: asyncio.StreamReader, count: int) -> list[RemotingCommand]:
    decoder = FrameDecoder()
    got: list[RemotingCommand] = []
    while len(got) < count:
        data = await asyncio.wait_for(reader.read(65536), 5)
        if not data:
            break
        got.extend(decoder.feed(data))
    return got


def test_later_answers_keep_request_order_and_others_go_on() -> None:
    async def scenario() -> None:
        handler = Handler()
        listener = FrameListener(handler, host="127.0.0.1", port=0)
        await listener.listen()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            other_reader, other_writer = await asyncio.open_connection("127.0.0.1", listener.port)
            # Pipelined: a later answer, then two immediate ones behind it.
            writer.write(_request(1, 10) + _request(2, 11) + _request(3, 12))
            await writer.drain()
            # Another connection is not held by the first one's wait.
            other_writer.write(_request(2, 20))
            assert [r.remark for r in await _read(other_reader, 1)] == ["now 20"]
            await asyncio.sleep(0.05)
            handler.release.set()
            answers = await _read(reader, 3)
            assert [(a.opaque, a.remark) for a in answers] == [
                (10, "later 10"),
                (11, "now 11"),
                (12, "raw"),
            ]
            # A handler that fails closes its connection, and only that one.
            other_writer.write(_request(4, 21))
            await other_writer.drain()
            assert await asyncio.wait_for(other_reader.read(), 5) == b""
            writer.write(_request(2, 13))
            assert [r.remark for r in await _read(reader, 1)] == ["now 13"]
            writer.close()
            other_writer.close()
        finally:
            await listener.close()
        assert len(handler.closed) == 2

    asyncio.run(scenario())


def test_raw_answer_may_close_the_connection() -> None:
    class Closing(Handler):
        def handle(self, request, conn, peer_host):
            return RawAnswer(b"HALF", close=True)

    async def scenario() -> None:
        listener = FrameListener(Closing(), host="127.0.0.1", port=0)
        await listener.listen()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(_request(2, 1) + _request(2, 2))
            assert await asyncio.wait_for(reader.read(), 5) == b"HALF"
            writer.close()
        finally:
            await listener.close()

    asyncio.run(scenario())


def test_listener_takes_a_free_loopback_port() -> None:
    async def scenario() -> int:
        listener = FrameListener(Handler(), host="127.0.0.1", port=0)
        await listener.listen()
        port = listener.port
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        await listener.close()
        return port

    assert asyncio.run(scenario()) > 0
