"""Two NameServers on one event loop, fed the same bytes over real loopback connections; what
they answer must be byte-identical. The first takes the fast paths: the answer cache, and with
`offload=True` the worker thread for every registration and topic list (server.offload); the
second takes none and answers everything on the loop, as it comes. Used by
tests/server/test_answer_cache.py and the fuzzers in tests/robustness."""

from __future__ import annotations

import asyncio
import itertools
import struct
from pathlib import Path

from nsctl.protocol import frame
from nsctl.protocol.codes import RequestCode, SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.server.config import NamesrvConfig
from nsctl.server.kvstore import KVStore
from nsctl.server.server import NameServer

SENTINEL_OPAQUE = 2_000_000_000  # tests keep their own opaques below this


def encode(
    code: int,
    ext: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    opaque: int = 1,
    version: int = 479,
    serialize: SerializeType = SerializeType.JSON,
    flag: int = 0,
) -> bytes:
    command = RemotingCommand(
        code=code,
        language="JAVA",
        version=version,
        opaque=opaque,
        flag=flag,
        ext_fields=ext,
        body=body,
        serialize_type=serialize,
    )
    return frame.encode(command)


def json_frame(header: str, body: bytes = b"") -> bytes:
    raw = header.encode("utf-8")
    return struct.pack(">ii", 4 + len(raw) + len(body), len(raw)) + raw + body


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


class Twins:
    """The same NameServer with the fast paths on and off, fed the same bytes."""

    def __init__(
        self, tmp: Path, settings: dict[str, object] | None = None, *, offload: bool = False
    ) -> None:
        self.clock = Clock()
        self.servers: list[NameServer] = []
        for cached in (True, False):
            config = NamesrvConfig()
            config.set("bindAddress", "127.0.0.1")
            config.set("listenPort", 0)
            config.set("scanNotActiveBrokerInterval", 10**9)  # expiry only when a step says
            config.answer_cache = cached
            fast_work = 0 if cached and offload else None  # 0: everything goes to the worker
            config.offload_min_topics = config.offload_min_body = fast_work
            # GET_NAMESRV_CONFIG shows this path: the same for both, though each has its file.
            config.set("kvConfigPath", str(tmp / "kvConfig.json"))
            for key, value in (settings or {}).items():
                config.set(key, value)
            name = "cached" if cached else "plain"
            server = NameServer(config, kv_store=KVStore(tmp / f"{name}-kv.json"))
            server.dispatcher.clock = self.clock
            server.dispatcher.started_ms = self.clock()
            self.servers.append(server)
        self.connections: list[dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = [
            {},
            {},
        ]
        self._sentinels = itertools.count(SENTINEL_OPAQUE)

    async def start(self) -> None:
        for server in self.servers:
            await server.start()

    async def stop(self) -> None:
        for streams in self.connections:
            for _, writer in streams.values():
                writer.close()
        for server in self.servers:
            await server.stop()

    async def _connection(self, index: int, which: int):
        streams = self.connections[index]
        if which not in streams:
            streams[which] = await asyncio.open_connection("127.0.0.1", self.servers[index].port)
        return streams[which]

    async def exchange(self, which: int, data: bytes) -> list[bytes]:
        """Send `data` and then a sentinel request on connection `which` of both servers, in
        one write; return what each answered up to the sentinel's answer (or the close)."""
        opaque = next(self._sentinels)
        sentinel = encode(
            RequestCode.GET_KV_CONFIG, {"namespace": "sentinel", "key": "k"}, opaque=opaque
        )
        answers = []
        for index in range(2):
            reader, writer = await self._connection(index, which)
            writer.write(data + sentinel)
            answers.append(await asyncio.wait_for(self._read_until(reader, opaque), 10))
            if answers[-1].endswith(b"<closed>"):
                writer.close()
                del self.connections[index][which]
        await self._settled()
        return self._same_port(answers)

    async def _settled(self) -> None:
        """A connection the server closed (a malformed frame) may have carried brokers: wait
        until both servers dropped them (one does it in turn: NameServer.connection_closed)."""
        for _ in range(3):
            await asyncio.sleep(0)
        for server in self.servers:
            await server.settled()

    async def exchange_and_close(self, data: bytes) -> list[bytes]:
        """Send `data` on a new connection to both servers and close its sending side; return
        everything each answered until it closed. For input that may leave a frame
        incomplete (a sentinel after it would never be answered)."""
        answers = []
        for server in self.servers:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(data)
            writer.write_eof()
            try:
                answers.append(await asyncio.wait_for(reader.read(), 10))
            except ConnectionError:
                answers.append(b"<reset>")
            writer.close()
        await self._settled()
        return self._same_port(answers)

    def _same_port(self, answers: list[bytes]) -> list[bytes]:
        """GET_NAMESRV_CONFIG shows each server's own port: show the first one's in both (ports
        above 9999 both, so no length word changes)."""
        ours = [b"listenPort=%d\n" % server.port for server in self.servers]
        return [answer.replace(port, ours[0]) for answer, port in zip(answers, ours, strict=True)]

    @staticmethod
    async def _read_until(reader: asyncio.StreamReader, opaque: int) -> bytes:
        received = bytearray()
        while True:
            try:
                head = await reader.readexactly(4)
                payload = await reader.readexactly(int.from_bytes(head, "big"))
            except (asyncio.IncompleteReadError, ConnectionError):
                return bytes(received) + b"<closed>"
            received += head + payload
            if frame.decode_payload(payload).opaque == opaque:
                return bytes(received)

    async def close(self, which: int) -> None:
        """Close connection `which` from the client side and wait until both servers noticed
        (a broker registered on it is then gone)."""
        for index in range(2):
            streams = self.connections[index]
            if which in streams:
                reader, writer = streams.pop(which)
                writer.write_eof()
                await asyncio.wait_for(reader.read(), 10)  # the server closes
                writer.close()
        for server in self.servers:
            await server.settled()  # and drops the brokers on that connection

    async def expire(self, advance_ms: int) -> None:
        """Advance the clock and run the expiry scan on both servers."""
        self.clock.now += advance_ms
        for server in self.servers:
            await server.scan_brokers()
        for _ in range(3):  # let closed broker connections run their clean-up
            await asyncio.sleep(0)
        for server in self.servers:
            await server.settled()
        for index in range(2):
            for which in list(self.connections[index]):
                reader, writer = self.connections[index][which]
                if reader.at_eof() or writer.is_closing():
                    writer.close()
                    del self.connections[index][which]
