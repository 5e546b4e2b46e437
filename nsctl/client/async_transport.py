"""asyncio transport: one TCP connection to one NameServer, many requests in flight.

Each request registers a future under its opaque; `data_received` decodes frames and resolves
the future whose opaque the response carries, whatever order the server answers in. A
connection (`_Link`) owns its pending table, so requests of a connection that died can never be
answered by its successor. A timeout closes the connection, as the Java client does. With
`credentials` every frame it sends is signed for ACL (`nsctl.protocol.acl`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING

from nsctl.client import hints
from nsctl.client.discovery import split_host_port
from nsctl.client.errors import (
    NameServerConnectionError,
    NameServerError,
    NameServerProtocolError,
    NameServerTimeoutError,
)
from nsctl.protocol.acl import Credentials
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.frame import FrameDecoder

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)


class _PeerClosed(NameServerConnectionError):
    """The server closed the connection (as opposed to this side closing it)."""


class _Link(asyncio.Protocol):
    """One TCP connection: decoder, pending requests and write flow control."""

    def __init__(self, address: str, *, tls: bool = False) -> None:
        self.address = address
        self.tls = tls
        #: The first bytes received, for the hints of `nsctl.client.hints`.
        self.head = b""
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.decoder = FrameDecoder()
        self.pending: dict[int, asyncio.Future[RemotingCommand]] = {}
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.received = 0
        self._writable: asyncio.Future[None] | None = None

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.closed.done()

    # asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if len(self.head) < hints.HEAD_BYTES:
            self.head += data[: hints.HEAD_BYTES - len(self.head)]
        try:
            responses = self.decoder.feed(data)
        except ProtocolError as exc:
            message = hints.invalid_frame(self.address, exc, self.head, tls=self.tls)
            self.fail(NameServerProtocolError(message, address=self.address))
            return
        for response in responses:
            future = self.pending.pop(response.opaque, None) if response.is_response else None
            if future is None or future.done():
                log.debug(
                    "%s: dropping unmatched frame code=%s opaque=%s",
                    self.address,
                    response.code,
                    response.opaque,
                )
                continue
            future.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.received:
            reset = isinstance(exc, ConnectionResetError)
            message = hints.closed_before_answer(self.address, reset=reset, tls=self.tls)
        else:
            partial = self.decoder.buffered
            detail = f" in the middle of a frame ({partial} bytes)" if partial else ""
            reason = f": {exc}" if exc else ""
            message = f"{self.address} closed the connection{detail}{reason}"
        self.fail(_PeerClosed(message, address=self.address))

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    # used by AsyncConnection --------------------------------------------------------------

    async def write(self, frame: bytes) -> None:
        if not self.is_open:
            raise NameServerConnectionError(
                f"connection to {self.address} is closed", address=self.address
            )
        assert self.transport is not None
        self.transport.write(frame)
        if self._writable is not None:
            await asyncio.shield(self._writable)

    def fail(self, error: NameServerError) -> None:
        """Close the connection and fail every request still waiting on it."""
        if not self.closed.done():
            self.closed.set_result(None)
        if self.transport is not None:
            self.transport.abort()
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
        self.resume_writing()


class AsyncConnection:
    """A lazily opened, self-healing asyncio connection to `address`; TLS when `ssl_context`
    is given, every request signed when `credentials` are."""

    def __init__(
        self,
        address: str,
        *,
        connect_timeout: float = 3.0,
        ssl_context: ssl.SSLContext | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.address = address
        self.host, self.port = split_host_port(address)
        self.connect_timeout = connect_timeout
        self.ssl_context = ssl_context
        self.credentials = credentials
        self._link: _Link | None = None
        self._connecting: asyncio.Task[_Link] | None = None

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.is_open

    async def request(self, command: RemotingCommand, timeout: float) -> RemotingCommand:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        frame = hints.request_frame(command, self.credentials)  # before anything is sent
        link = self._link
        reused = link is not None and link.is_open
        received_before = link.received if link is not None else 0
        try:
            return await self._exchange(command.opaque, frame, deadline)
        except _PeerClosed:
            # The server closed a kept-alive connection just as the request went out (its idle
            # close raced our send) and not a byte came back: a fresh connection is a safe retry.
            quiet = link is not None and link.received == received_before
            if not (reused and quiet) or loop.time() >= deadline:
                raise
        log.debug("%s: kept-alive connection closed under the request; retrying", self.address)
        return await self._exchange(command.opaque, frame, deadline)

    async def _exchange(self, opaque: int, frame: bytes, deadline: float) -> RemotingCommand:
        loop = asyncio.get_running_loop()
        link = await self._open(deadline)
        future: asyncio.Future[RemotingCommand] = loop.create_future()
        link.pending[opaque] = future
        try:
            await link.write(frame)
            return await asyncio.wait_for(future, max(deadline - loop.time(), 0.0))
        except asyncio.TimeoutError:
            link.fail(
                NameServerConnectionError(
                    f"connection to {self.address} closed after a timed-out request",
                    address=self.address,
                )
            )
            raise NameServerTimeoutError(
                f"timed out waiting for the answer from {self.address}", address=self.address
            ) from None
        finally:
            link.pending.pop(opaque, None)

    async def oneway(self, command: RemotingCommand, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        frame = hints.request_frame(command, self.credentials)
        link = await self._open(loop.time() + timeout)
        await link.write(frame)

    async def wait_closed(self) -> None:
        """Return once the current connection is gone (immediately if there is none)."""
        link = self._link
        if link is not None:
            await asyncio.shield(link.closed)

    async def close(self) -> None:
        link, self._link = self._link, None
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if link is not None:
            link.fail(
                NameServerConnectionError(
                    f"connection to {self.address} closed by the client", address=self.address
                )
            )

    # ----------------------------------------------------------------------------------------

    async def _open(self, deadline: float) -> _Link:
        link = self._link
        if link is not None and link.is_open:
            return link
        loop = asyncio.get_running_loop()
        # Concurrent first requests share one connection attempt.
        if self._connecting is None or self._connecting.done():
            self._connecting = loop.create_task(self._connect())
            # The attempt outlives a caller that gave up; its outcome is read by the next one.
            self._connecting.add_done_callback(_consume_outcome)
        budget = min(self.connect_timeout, deadline - loop.time())
        try:
            return await asyncio.wait_for(asyncio.shield(self._connecting), max(budget, 0.0))
        except asyncio.TimeoutError:
            raise NameServerTimeoutError(
                f"connecting to {self.address} timed out after {max(budget, 0.0):.3g}s",
                address=self.address,
            ) from None

    async def _connect(self) -> _Link:
        loop = asyncio.get_running_loop()
        tls = self.ssl_context is not None
        try:
            _, link = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Link(self.address, tls=tls),
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host if tls else None,
                ),
                self.connect_timeout,
            )
        except asyncio.TimeoutError:
            raise NameServerTimeoutError(
                f"connecting to {self.address} timed out after {self.connect_timeout:.3g}s",
                address=self.address,
            ) from None
        except OSError as exc:
            raise self._connect_error(exc) from exc
        log.debug("connected to %s", self.address)
        self._link = link
        return link

    def _connect_error(self, exc: OSError) -> NameServerConnectionError:
        if self.ssl_context is not None:
            from nsctl.client.tls import describe_handshake_failure

            reason = describe_handshake_failure(exc)
            if reason is not None:
                return NameServerConnectionError(
                    f"TLS handshake with {self.address} failed: {reason}", address=self.address
                )
        # asyncio puts "Connect call failed (host, port)" in strerror; the errno says why.
        reason = os.strerror(exc.errno) if exc.errno else exc.strerror
        reason = reason or str(exc) or type(exc).__name__
        return NameServerConnectionError(
            f"cannot connect to {self.address}: {reason}", address=self.address
        )


def _consume_outcome(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()
