"""TLS the way the Java remoting server does it: one port, the first byte decides.

A TLS connection starts with a handshake record, byte 0x16; a RocketMQ frame never does (its
length word would have to be at least 0x16000000, far above any frame limit). So the listener
accepts sockets itself, waits until the first byte has arrived, peeks at it without consuming
it, and only then hands the socket to the event loop, with TLS or without. Peeking (rather than
reading) leaves the ClientHello in the kernel buffer for the TLS layer to read, which asyncio's
`start_tls` on an already-reading transport could not offer.

Used only when `nsctl serve` has a certificate: without one the server keeps asyncio's own
`create_server`, and `ssl` is never imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

from nsctl.server.config import TLSSettings, TLSSetupError
from nsctl.server.events import event

log = logging.getLogger(__name__)

TLS_HANDSHAKE_BYTE = 0x16


def server_context(settings: TLSSettings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TLSSetupError(
            f"cannot load TLS certificate {settings.cert_file} / key {settings.key_file}: {reason}"
        ) from exc
    if settings.client_ca is not None:
        try:
            context.load_verify_locations(cafile=settings.client_ca)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise TLSSetupError(f"cannot load CA file {settings.client_ca}: {reason}") from exc
        # A peer without a certificate still connects (clients need none); one whose
        # certificate this CA does not verify fails the handshake.
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class SniffingListener:
    """Accepts connections on `sock` and starts each as TLS or plaintext by its first byte;
    `enforcing` closes plaintext ones.

    `admit(peer)` is asked before anything is read (the connection limit); `protocol_factory`
    makes the protocol of every connection that gets through. `first_byte_timeout` bounds how
    long a silent connection may wait (None: forever, like a disabled idle timeout).
    """

    def __init__(
        self,
        sock: socket.socket,
        context: ssl.SSLContext,
        protocol_factory: Callable[[], asyncio.Protocol],
        *,
        admit: Callable[[str], bool],
        first_byte_timeout: float | None,
        enforcing: bool,
    ) -> None:
        self.sock = sock
        self.context = context
        self.enforcing = enforcing
        self.protocol_factory = protocol_factory
        self.admit = admit
        self.first_byte_timeout = first_byte_timeout
        #: Connections accepted and not yet handed to the loop: they count against the limit.
        self.opening = 0
        self._accepting: asyncio.Task[None] | None = None
        self._openers: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.sock.setblocking(False)
        self._accepting = asyncio.get_running_loop().create_task(self._accept_forever())

    async def close(self) -> None:
        tasks = [t for t in (self._accepting, *self._openers) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.sock.close()

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = await loop.sock_accept(self.sock)
            except OSError as exc:  # out of file descriptors, mostly: wait, do not spin
                log.warning("accepting a connection failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            peer = _format_peer(address)
            if not self.admit(peer):
                conn.close()
                continue
            task = loop.create_task(self._open(conn, peer))
            self._openers.add(task)
            task.add_done_callback(self._openers.discard)

    async def _open(self, conn: socket.socket, peer: str) -> None:
        self.opening += 1
        try:
            await self._start_connection(conn, peer)
        except BaseException:
            conn.close()
            raise
        finally:
            self.opening -= 1

    async def _start_connection(self, conn: socket.socket, peer: str) -> None:
        loop = asyncio.get_running_loop()
        conn.setblocking(False)
        try:
            first = await asyncio.wait_for(_peek_first_byte(conn), self.first_byte_timeout)
        except asyncio.TimeoutError:
            log.info(
                "closing connection from %s: it sent nothing",
                peer,
                extra=event("connection.dropped", reason="idle", peer=peer),
            )
            conn.close()
            return
        except OSError:
            conn.close()
            return
        if not first:  # closed before sending anything
            conn.close()
            return
        tls = first[0] == TLS_HANDSHAKE_BYTE
        if not tls and self.enforcing:
            log.warning(
                "closing plaintext connection from %s: TLS is enforced",
                peer,
                extra=event("connection.dropped", reason="tls_enforced", peer=peer),
            )
            conn.close()
            return
        try:
            await loop.connect_accepted_socket(
                self.protocol_factory,
                conn,
                ssl=self.context if tls else None,
                ssl_handshake_timeout=self.first_byte_timeout if tls else None,
            )
        except (OSError, asyncio.TimeoutError) as exc:  # ssl.SSLError is an OSError
            log.warning("TLS handshake with %s failed: %s", peer, _reason(exc))
            conn.close()


async def _peek_first_byte(conn: socket.socket) -> bytes:
    """The first byte once it has arrived, left in the socket; b"" when the peer closed."""
    loop = asyncio.get_running_loop()
    while True:
        readable = loop.create_future()
        loop.add_reader(conn.fileno(), _set_once, readable)
        try:
            await readable
        finally:
            loop.remove_reader(conn.fileno())
        with contextlib.suppress(BlockingIOError, InterruptedError):
            return conn.recv(1, socket.MSG_PEEK)


def _set_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _format_peer(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
