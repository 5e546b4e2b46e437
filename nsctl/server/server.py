"""The asyncio TCP server: connections, framing, idle timeout, broker expiry, shutdown.

Everything runs on one event loop, so the route table needs no locks: a request is decoded,
answered and its response queued for writing within one `data_received` call. Responses to
requests that arrive together (pipelining) leave in few writes (see `_Connection` for what a
connection may make the server buffer).

`FrameListener` is the listening side on its own: it accepts connections, cuts the stream into
frames and hands each request to a `RequestHandler`. The NameServer is one (its handler is the
`Dispatcher`); the stand-in brokers of `nsctl.standin` are others. A handler answers at once,
or with an awaitable when it must talk to someone else first (a broker registers a new topic
before it answers): the connection then holds the frames after it until that answer is out.

Without TLS, asyncio's `create_server` accepts connections; with TLS, `tls.SniffingListener`
does, so that TLS and plaintext can share the port. Either way every connection is a
`_Connection`, admitted only while fewer than `max_connections` are open.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import functools
import gc
import inspect
import itertools
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.frame import DEFAULT_MAX_FRAME_LENGTH, decode_payload, encode
from nsctl.server.answer_cache import CACHEABLE_CODES, AnswerCache
from nsctl.server.config import NamesrvConfig
from nsctl.server.dispatch import Dispatcher
from nsctl.server.events import event
from nsctl.server.kvstore import KVStore
from nsctl.server.offload import Worker
from nsctl.server.route_table import ExpiredBroker, RouteTable
from nsctl.server.stats import LATENCY_BOUNDS_NS as _LATENCY_BOUNDS_NS
from nsctl.server.stats import NO_ANSWER, ServerStats

if TYPE_CHECKING:
    from nsctl.server.tls import SniffingListener

log = logging.getLogger(__name__)

#: Answers are written in batches of about this many bytes: pipelined requests still leave in
#: few writes, and a peer that stops reading is noticed within one batch.
_WRITE_BATCH = 256 * 1024
_LENGTH = struct.Struct(">i")
_bucket = bisect.bisect_left


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """Bytes to write as they are instead of an encoded response (a captured frame, or on
    purpose something that is not a frame); `close` closes the connection once written."""

    data: bytes
    close: bool = False


#: What a handler gives for one request: a response, raw bytes, or None for no answer at all.
Answer = RemotingCommand | RawAnswer | None


class RequestHandler(Protocol):
    """What a `FrameListener` hands its requests to."""

    def handle(
        self, request: RemotingCommand, conn: Hashable, peer_host: str
    ) -> Answer | Awaitable[Answer]: ...

    def connection_closed(self, conn: Hashable) -> None: ...


class FrameListener:
    """Listens on host:port and answers every frame through `handler`, on the running loop."""

    #: The NameServer answers from its cache when it has one; other listeners have none.
    answer_cache: AnswerCache | None = None

    def __init__(
        self,
        handler: RequestHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
        idle_timeout: int = 0,
        max_connections: int = 10_000,
        backlog: int = 1024,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_frame_length = max_frame_length
        self.connections: dict[int, _Connection] = {}
        self._idle_timeout = idle_timeout
        self._max_connections = max_connections
        self._backlog = backlog
        self._ids = itertools.count(1)
        self._server: asyncio.base_events.Server | None = None
        self._listener: SniffingListener | None = None
        self._refusals = _Throttle(interval=1.0)
        #: Bytes the connections hold in partial frames and unsent answers, as each last
        #: counted itself (unsent answers leave without telling: this may be above the truth
        #: until `bound_buffers` counts again).
        self.buffered = 0
        #: What the connections count (read by `nsctl.server.metrics` when scraped).
        self.stats = ServerStats()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def idle_timeout(self) -> int:
        """Seconds without traffic after which a connection is closed (0: never)."""
        return self._idle_timeout

    @property
    def max_connections(self) -> int:
        return self._max_connections

    async def listen(self) -> None:
        """Accept plaintext connections on host:port (port 0: a free one, then `port` says
        which)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_connection,
            host=self.host,
            port=self.port,
            backlog=self._backlog,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _new_connection(self, *, admitted: bool = False) -> _Connection:
        return _Connection(self, next(self._ids), admitted=admitted)

    def admit(self, peer: str) -> bool:
        """Whether a new connection from `peer` may open: fewer than max_connections are."""
        opening = self._listener.opening if self._listener is not None else 0
        count = len(self.connections) + opening
        limit = self.max_connections
        if count < limit:
            return True
        self.stats.bump(self.stats.connections_closed, "max_connections")
        folded = self._refusals.fire(asyncio.get_running_loop().time())
        if folded is not None:
            more = f"; {folded} more refused since the last such line" if folded else ""
            log.warning(
                "refusing connection from %s: %d connections open (--max-connections %d)%s",
                peer,
                count,
                limit,
                more,
                extra=event("connection.dropped", reason="max_connections", peer=peer, open=count),
            )
        return False

    @property
    def max_buffered_bytes(self) -> int:
        """Bound of `buffered` (0: none); the NameServer's comes from its config."""
        return 0

    def bound_buffers(self) -> None:
        """`buffered` passed `max_buffered_bytes`: count every connection afresh, and while
        they hold more than the bound, close the one that holds the most (the furthest
        behind: the peer not reading its answers, or trickling in the largest frame)."""
        limit = self.max_buffered_bytes
        connections = list(self.connections.values())
        total = sum(connection.recount() for connection in connections)
        self.buffered = total
        if total <= limit:
            return
        connections.sort(key=lambda c: c.accounted, reverse=True)
        for connection in connections:
            if self.buffered <= limit:
                break
            held = connection.accounted
            if held == 0:
                break
            log.warning(
                "closing connection from %s: it holds %d bytes of partial frames and unsent "
                "answers, the most of all, and all connections together held %d "
                "(--max-buffered-bytes %d)",
                connection.peer,
                held,
                total,
                limit,
                extra=event(
                    "connection.dropped",
                    reason="buffer_bound",
                    peer=connection.peer,
                    held=held,
                    total=total,
                ),
            )
            self.stats.bump(self.stats.connections_closed, "buffer_bound")
            connection.abort()

    def connection_closed(self, conn: int) -> None:
        """A connection is gone: tell the handler (a NameServer drops the brokers on it)."""
        self.handler.connection_closed(conn)

    async def close(self) -> None:
        """Stop listening, close every connection and wait until they are gone."""
        if self._server is not None:
            self._server.close()
        if self._listener is not None:
            await self._listener.close()
        for connection in list(self.connections.values()):
            connection.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)


class NameServer(FrameListener):
    """One NameServer: state, dispatcher and listening socket on the running event loop."""

    def __init__(self, config: NamesrvConfig, *, kv_store: KVStore | None = None) -> None:
        self.config = config
        self.kv = kv_store or KVStore(config.text("kvConfigPath"))
        self.table = RouteTable()
        self.dispatcher = Dispatcher(self.table, self.kv, config)
        super().__init__(
            self.dispatcher,
            host=config.text("bindAddress"),
            port=config.number("listenPort"),
            max_frame_length=config.max_frame_length,
            backlog=config.number("serverSocketBacklog"),
        )
        self.dispatcher.stats = self.stats
        self.dispatcher.peer_verified = self._peer_verified
        if config.offload_min_topics is not None or config.offload_min_body is not None:
            self.dispatcher.worker = Worker()
        #: Encoded answers to repeated read requests (None: `--no-answer-cache`).
        self.answer_cache = AnswerCache() if config.answer_cache else None
        self._housekeeping: asyncio.Task | None = None
        #: Connections that carried brokers, closed and not yet cleaned up (`_clean_up`).
        self._closed: collections.deque[int] = collections.deque()
        self._cleaning: asyncio.Task | None = None

    def _peer_verified(self, conn: Hashable) -> bool:
        connection = self.connections.get(conn)  # type: ignore[call-overload]
        return connection is not None and connection.cert_verified

    @property
    def idle_timeout(self) -> int:
        # Read from the config each time: UPDATE_NAMESRV_CONFIG may change it.
        return self.config.number("serverChannelMaxIdleTimeSeconds")

    @property
    def max_connections(self) -> int:
        return self.config.max_connections

    @property
    def max_buffered_bytes(self) -> int:
        return self.config.max_buffered_bytes

    async def start(self) -> None:
        """Load the KV store, listen, and start the expiry scan. Raises if either fails
        (`config.TLSSetupError` for an unusable certificate)."""
        self.kv.load()
        loop = asyncio.get_running_loop()
        if self.dispatcher.worker is not None:
            self.dispatcher.worker.start()
        if self.config.tls is None:
            await self.listen()
        else:
            self._listener = self._tls_listener()
            self._listener.start()
            self.port = self._listener.sock.getsockname()[1]
        self.config.set("listenPort", self.port)  # report the port chosen for port 0
        self._housekeeping = loop.create_task(self._scan_brokers_forever())
        # What is alive now (modules, settings) lives as long as the server: out of the
        # collector's way, as the large registrations' objects are later (dispatch._Collector).
        gc.freeze()
        tls = f", TLS {self.config.tls.mode}" if self.config.tls is not None else ""
        log.info(
            "NameServer listening on %s (KV config %s%s)",
            self.address,
            self.kv.path,
            tls,
            extra=event("server.started", address=self.address, kv_config=str(self.kv.path)),
        )

    def _tls_listener(self) -> SniffingListener:
        from nsctl.server.tls import SniffingListener, server_context

        settings = self.config.tls
        assert settings is not None
        context = server_context(settings)  # before binding: a bad certificate leaks nothing
        family, _, _, _, address = socket.getaddrinfo(
            self.host or None, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.create_server(
            address, family=family, backlog=self.config.number("serverSocketBacklog")
        )
        idle = self.idle_timeout
        return SniffingListener(
            sock,
            context,
            functools.partial(self._new_connection, admitted=True),
            admit=self.admit,
            first_byte_timeout=idle if idle > 0 else None,
            enforcing=settings.mode == "enforcing",
        )

    async def _scan_brokers_forever(self) -> None:
        interval = max(self.config.number("scanNotActiveBrokerInterval"), 10) / 1000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.scan_brokers()
            except Exception:  # the scan must keep running whatever one pass hits
                log.exception("broker expiry scan failed")

    async def scan_brokers(self) -> None:
        """Remove the brokers whose registration timed out, one at a time: each removal is
        whole, and other requests are answered between them (a broker of 10,000 topics takes
        about 10 ms to remove)."""
        for broker in self.table.expired_brokers(self.dispatcher.clock()):
            async with self.dispatcher.removing([(broker.cluster_name, broker.broker_addr)]):
                # Checked again: it may have registered again while the others were removed.
                if self.table.expire(broker, self.dispatcher.clock()):
                    self._expired(broker)
            await _let_others_in()

    def connection_closed(self, conn: int) -> None:
        """Brokers registered on a closed connection go at once, or, when they hold many
        topics (`offload_min_topics`), in turn: one connection at a time, with other requests
        answered between them, as the expiry scan does."""
        topics = self.table.topics_on(conn)
        if topics is None:
            return
        threshold = self.config.offload_min_topics
        if not self._closed and (threshold is None or topics < threshold):
            self.dispatcher.connection_closed(conn)
            return
        self._closed.append(conn)
        if self._cleaning is None:
            self._cleaning = asyncio.get_running_loop().create_task(self._clean_up())

    async def _clean_up(self) -> None:
        try:
            while self._closed:
                conn = self._closed.popleft()
                async with self.dispatcher.removing(self.table.brokers_on(conn)):
                    self.dispatcher.connection_closed(conn)
                await _let_others_in()
        finally:
            self._cleaning = None

    async def settled(self) -> None:
        """Wait until the brokers of every connection closed so far are gone (for tests)."""
        while self._cleaning is not None:
            await asyncio.sleep(0.001)

    def _expired(self, broker: ExpiredBroker) -> None:
        self.stats.broker_expiries += 1
        log.warning(
            "broker %s (%s) expired: no heartbeat in time",
            broker.broker_addr,
            broker.cluster_name,
            extra=event(
                "broker.expired",
                broker_addr=broker.broker_addr,
                cluster=broker.cluster_name,
            ),
        )
        connection = self.connections.get(broker.conn) if broker.conn is not None else None
        if connection is not None:
            connection.close()

    async def stop(self) -> None:
        """Stop listening, close every connection and wait until they are gone."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.close()
        if self.dispatcher.worker is not None:
            self.dispatcher.worker.stop()
        log.info(
            "NameServer on %s stopped",
            self.address,
            extra=event("server.stopped", address=self.address),
        )


class _Connection(asyncio.Protocol):
    """One client connection: cut the stream into frames, answer them, watch for idleness.

    Frames are answered in order within the `data_received` call that completes them: from the
    answer cache when it has the answer (`AnswerCache.answer_hits`, which never decodes a
    header), otherwise by the normal path (decode, dispatch, encode), whose answer may then
    be admitted to the cache. The cache is re-checked against the server's state after every
    frame the normal path answered, so a change made by one frame is seen by the next.

    What one connection can make the server hold is bounded. Incoming: complete frames are
    answered at once, so only the frame in progress is buffered, and it cannot exceed
    `max_frame_length`. Outgoing: once the transport's buffer passes its high-water mark
    (the peer does not read its answers), reading stops, and requests already read wait
    unanswered in `_pending` (at most one read's worth) until the peer catches up. A handler
    that answers with an awaitable holds the connection the same way until its answer is
    written: answers leave in request order, and the frames behind it wait in `_pending`.

    What all connections hold together is bounded too (`--max-buffered-bytes`): each counts
    its partial frame and unsent answers into `FrameListener.buffered` after every read and
    write (`_account`), and past the bound the listener closes the ones holding the most.
    """

    def __init__(self, server: FrameListener, conn_id: int, *, admitted: bool = False) -> None:
        self.server = server
        self.conn_id = conn_id
        self.admitted = admitted
        self.max_frame_length = server.max_frame_length
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.peer_host = "?"  # never an allowed admin address until the peer is known
        #: Whether the peer gave a TLS certificate the server's client CA verified.
        self.cert_verified = False
        self.loop = asyncio.get_running_loop()
        self.stats = server.stats
        self.last_activity = self.loop.time()
        #: When the frame now being received started: a frame trickled in byte by byte keeps
        #: a connection active, yet must not hold its buffer forever.
        self.frame_started: float | None = None
        self.idle_timeout = server.idle_timeout
        self._idle_timer: asyncio.TimerHandle | None = None
        self._writing_paused = False
        #: The task finishing an answer the handler gave as an awaitable, while there is one.
        self._deferred: asyncio.Task | None = None
        #: Bytes received and not answered yet: the frame in progress, and while the peer does
        #: not read its answers, the frames read before reading stopped. A bytearray, so that
        #: a large frame arriving in many reads is not copied again with each one.
        self._pending = bytearray()
        #: How many bytes `_pending` must hold before there is a frame to answer.
        self._needed = 0
        self._failed = False
        #: Bytes this connection is counted for in `server.buffered`.
        self.accounted = 0

    @property
    def buffered(self) -> int:
        return len(self._pending)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the Transport interface without subclassing it.
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Only set when the context verifies peers (TLSSettings.client_ca): then a certificate
        # is here only if it was verified.
        self.cert_verified = bool(transport.get_extra_info("peercert"))
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer_host = str(peer[0])
            self.peer = f"{peer[0]}:{peer[1]}"
        if not self.admitted and not self.server.admit(self.peer):
            transport.abort()
            return
        self.server.connections[self.conn_id] = self
        if self.idle_timeout > 0:
            self._idle_timer = self.loop.call_later(self.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        now = self.last_activity = self.loop.time()
        if self._failed:
            return
        self.stats.bytes_in += len(data)
        pending = self._pending
        held = self._writing_paused or self._deferred is not None
        if pending or held:
            pending += data
            # While reading is paused, only a transport's last read gets here: keep it.
            if held or len(pending) < self._needed:
                self._account()
                return
            data = bytes(pending)
            self._pending = bytearray()
        elif type(data) is not bytes:
            data = bytes(data)
        answered = self._answer(data)
        if not self._pending:
            self.frame_started = None
        elif answered or self.frame_started is None:
            self.frame_started = now
        self._account()

    def _account(self) -> None:
        """Count what this connection holds now into `server.buffered`; past the bound, let
        the server close whoever holds the most."""
        transport = self.transport
        held = len(self._pending)
        if transport is not None:
            held += transport.get_write_buffer_size()
        delta = held - self.accounted
        if delta:
            self.accounted = held
            server = self.server
            server.buffered += delta
            if delta > 0 and server.buffered > (server.max_buffered_bytes or server.buffered):
                server.bound_buffers()

    def recount(self) -> int:
        """What this connection holds now (and is counted for from here on)."""
        held = len(self._pending)
        if self.transport is not None:
            held += self.transport.get_write_buffer_size()
        self.accounted = held
        return held

    def abort(self) -> None:
        """Close at once, dropping what is buffered either way."""
        self.server.buffered -= self.accounted
        self.accounted = 0
        self._failed = True
        self._pending = bytearray()
        if self.transport is not None:
            self.transport.abort()

    def _answer(self, buf: bytes) -> bool:
        """Answer the complete frames of `buf` in order, in writes of up to _WRITE_BATCH bytes;
        keep the rest in `_pending` (the frame in progress, or when the peer stops reading,
        the frames not answered yet, for `resume_writing`). A malformed frame closes the
        connection once the frames before it are answered. Returns whether a frame was."""
        dispatcher = self.server.handler
        cache = self.server.answer_cache
        out: list[bytes] = []
        size = 0
        offset = 0
        total = len(buf)
        if cache is not None:
            cache.sync(dispatcher.state_generation())
        clock = time.perf_counter_ns
        while True:
            if cache is not None:
                hits = cache.hits
                started = clock()
                offset, added = cache.answer_hits(buf, offset, out, _WRITE_BATCH - size)
                if added:
                    # stats.hit_latency.observe, inline: this runs once per run of hits
                    elapsed = clock() - started
                    count = cache.hits - hits
                    histogram = self.stats.hit_latency
                    histogram.counts[_bucket(_LATENCY_BOUNDS_NS, elapsed // count)] += count
                    histogram.sum_ns += elapsed
                size += added
            if size < _WRITE_BATCH:
                if total - offset < 4:
                    break
                (length,) = _LENGTH.unpack_from(buf, offset)
                if length < 4 or length + 4 > self.max_frame_length:
                    self._fail(
                        out,
                        f"frame length {length} at stream byte {offset} is outside "
                        f"4..{self.max_frame_length - 4}",
                    )
                    return True
                end = offset + 4 + length
                if end > total:
                    break
                try:
                    encoded = self._answer_frame(buf, offset, end, cache)
                except ProtocolError as exc:
                    self._fail(out, str(exc))
                    return True
                offset = end
                if isinstance(encoded, RawAnswer):
                    # Raw bytes, possibly closing: what came before goes out first.
                    out.append(encoded.data)
                    self._write(out)
                    out, size = [], 0
                    if encoded.close:
                        self._failed = True
                        self._pending = bytearray()
                        self.close()
                        return True
                    encoded = None
                if self._deferred is not None:
                    # The handler answers later: hold the rest until it has.
                    if out:
                        self._write(out)
                    self._pending = bytearray(buf[offset:])
                    self._needed = 0
                    if self.transport is not None:
                        self.transport.pause_reading()
                    return True
                if encoded is not None:
                    out.append(encoded)
                    size += len(encoded)
                if cache is not None:
                    cache.sync(dispatcher.state_generation())
            if size >= _WRITE_BATCH:
                self._write(out)
                out, size = [], 0
                if self._writing_paused:
                    self._pending = bytearray(buf[offset:])
                    self._needed = 0
                    return True
        if out:
            self._write(out)
        if offset < total:
            self._pending = bytearray(buf[offset:])
            self._needed = _expected(self._pending) or 4
        return offset > 0

    def _answer_frame(
        self, buf: bytes, start: int, end: int, cache: AnswerCache | None
    ) -> bytes | RawAnswer | None:
        """The normal path for the frame buf[start:end]: decode, dispatch, encode; the answer
        may enter the cache. An awaitable answer starts `_deferred` and gives None here.
        Answers made here are counted in `stats` with their latency (decode to encoded)."""
        started = time.perf_counter_ns()
        request = decode_payload(buf[start + 4 : end])
        dispatcher = self.server.handler
        response = dispatcher.handle(request, self.conn_id, self.peer_host)
        if response is None:
            if not request.is_response:
                self.stats.answered(request.code, NO_ANSWER, time.perf_counter_ns() - started)
            return None
        if isinstance(response, RawAnswer):
            return response
        if inspect.isawaitable(response):
            self._deferred = self.loop.create_task(self._finish(request, response, started))
            return None
        encoded = self._encode(request, response)
        if encoded is None:
            return None
        cacheable = request.code in CACHEABLE_CODES
        if cacheable and cache is not None and dispatcher.answers_settled():
            cache.sync(dispatcher.state_generation())
            cache.admit(buf[start:end], request, response, encoded)
        stats = self.stats
        stats.answered(request.code, response.code, time.perf_counter_ns() - started)
        if cacheable:
            stats.cache_misses += 1
        return encoded

    @staticmethod
    def _encode(request: RemotingCommand, response: RemotingCommand) -> bytes | None:
        try:
            return encode(response)
        except ProtocolError as exc:
            log.warning("cannot encode the answer to code %s: %s", request.code, exc)
            return None

    async def _finish(
        self, request: RemotingCommand, pending: Awaitable[Answer], started: int
    ) -> None:
        """Write the answer a handler gave as an awaitable, then go on with the held frames.
        Counted in `stats` as answered when it is written (latency from the decode)."""
        try:
            response = await pending
        except Exception:
            # A handler's bug must not leave the peer waiting on a held connection.
            log.exception("answering code %s failed; closing the connection", request.code)
            self._deferred = None
            self._failed = True
            self.close()
            return
        if isinstance(response, RawAnswer):
            self._write([response.data])
            if response.close:
                self._deferred = None
                self._failed = True
                self.close()
                return
        elif response is not None:
            encoded = self._encode(request, response)
            if encoded is not None:
                self._write([encoded])
        if not request.is_response:
            outcome = response.code if isinstance(response, RemotingCommand) else NO_ANSWER
            self.stats.answered(request.code, outcome, time.perf_counter_ns() - started)
        self._deferred = None
        self._drain_backlog()

    def _fail(self, out: list[bytes], reason: str) -> None:
        """A malformed frame: the stream is out of sync. Answer what came before it, close."""
        if out:
            self._write(out)
        log.warning(
            "closing connection from %s: malformed frame: %s",
            self.peer,
            reason,
            extra=event("connection.dropped", reason="malformed_frame", peer=self.peer),
        )
        self.stats.bump(self.stats.connections_closed, "malformed_frame")
        self._failed = True
        self._pending = bytearray()
        self.close()

    def _write(self, out: list[bytes]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            data = out[0] if len(out) == 1 else b"".join(out)
            self.stats.bytes_out += len(data)
            self.transport.write(data)

    def pause_writing(self) -> None:
        # The peer does not read its answers: stop reading its requests until it does.
        self._writing_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self.last_activity = self.loop.time()  # the peer is reading: it is not idle
        # Not from inside the transport's write callback: answer the backlog on the next turn.
        self.loop.call_soon(self._drain_backlog)

    def _drain_backlog(self) -> None:
        if (
            self._writing_paused
            or self._deferred is not None
            or self.transport is None
            or self.transport.is_closing()
        ):
            return
        pending, self._pending = bytes(self._pending), bytearray()
        self._answer(pending)
        self._account()
        if not self._writing_paused and self._deferred is None and not self._failed:
            self.transport.resume_reading()

    def _check_idle(self) -> None:
        now = self.loop.time()
        idle_for = now - self.last_activity
        started = self.frame_started
        receiving_for = now - started if started is not None and self._pending else 0.0
        if idle_for >= self.idle_timeout:
            log.info(
                "closing connection from %s: idle for %.0f s",
                self.peer,
                idle_for,
                extra=event("connection.dropped", reason="idle", peer=self.peer),
            )
            self.stats.bump(self.stats.connections_closed, "idle")
            self.close()
        elif receiving_for >= self.idle_timeout:
            log.warning(
                "closing connection from %s: one frame has been arriving for %.0f s "
                "(%d of %s bytes)",
                self.peer,
                receiving_for,
                len(self._pending),
                _expected(self._pending) or "?",
                extra=event("connection.dropped", reason="slow_frame", peer=self.peer),
            )
            self.stats.bump(self.stats.connections_closed, "slow_frame")
            self.close()
        else:
            wait = self.idle_timeout - max(idle_for, receiving_for)
            self._idle_timer = self.loop.call_later(wait, self._check_idle)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        self.server.buffered -= self.accounted
        self.accounted = 0
        self.server.connections.pop(self.conn_id, None)
        self.server.connection_closed(self.conn_id)


async def _let_others_in() -> None:
    """Yield to the event loop so that the requests waiting on sockets are answered first: a
    bare `sleep(0)` would run this task again before the loop looks at its sockets."""
    await asyncio.sleep(0.0005)


def _expected(pending: bytes | bytearray) -> int | None:
    """Total size of the frame in progress once its length word is in."""
    if len(pending) < 4:
        return None
    return int.from_bytes(pending[:4], "big", signed=True) + 4


class _Throttle:
    """At most one log line per `interval` seconds for a repeated event, counting the rest: a
    flood of refused connections must not flood the log as well."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = float("-inf")
        self._folded = 0

    def fire(self, now: float) -> int | None:
        """None: stay quiet. Otherwise log now; the value is how many were folded since."""
        if now < self._next:
            self._folded += 1
            return None
        folded, self._folded = self._folded, 0
        self._next = now + self.interval
        return folded
