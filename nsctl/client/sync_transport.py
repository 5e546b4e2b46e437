"""Blocking transport: one TCP connection to one NameServer.

A request holds the connection's lock from sending until its answer (matched by opaque) is in,
so threads sharing a connection take turns. With `credentials` every frame it sends is signed
for ACL (`nsctl.protocol.acl`). Every socket failure becomes a typed error and
closes the connection; the next request reconnects. After a timeout the connection is closed
too, as the Java client does, so a late answer can never be read as the answer to a later call.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import TYPE_CHECKING

from nsctl.client import hints
from nsctl.client.discovery import split_host_port
from nsctl.client.errors import (
    NameServerConnectionError,
    NameServerError,
    NameServerProtocolError,
    NameServerTimeoutError,
)
from nsctl.client.quiet_log import QuietLogger
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.frame import FrameDecoder

if TYPE_CHECKING:
    import ssl

    from nsctl.protocol.acl import Credentials

log = QuietLogger(__name__)

_RECV_SIZE = 256 * 1024
#: The longest a blocking wait lasts before Python gets control back. A signal (Ctrl-C) that
#: lands just before the wait begins does not interrupt it; its handler runs when the wait
#: returns, so the wait is cut into slices to make Ctrl-C take effect at once, not at the end
#: of the request's timeout.
_WAKE_UP_SECONDS = 0.25


def _ascii_host(host: str) -> str | bytes:
    """`host` as `socket.getaddrinfo` gets it from the IDNA codec, computed here for the ASCII
    names (and addresses) that codec passes through unchanged: the codec's module, with
    `stringprep` and `unicodedata`, costs about 2 ms to import. Any other host is left to it."""
    labels = host.split(".")
    passes = all(0 < len(label) < 64 for label in labels[:-1]) and len(labels[-1]) < 64
    return host.encode("ascii") if host.isascii() and passes else host


class _ClosedBeforeAnswer(NameServerConnectionError):
    """The connection ended before a single byte of the answer came in."""


class SyncConnection:
    """A lazily opened, self-healing connection to `address`; TLS when `ssl_context` is given,
    every request signed when `credentials` are."""

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
        self._sock: socket.socket | None = None
        self._decoder = FrameDecoder()
        #: The first bytes received on the connection, for the hints of `nsctl.client.hints`.
        self._head = b""
        self._lock = threading.Lock()
        #: Set by `close()` while a request is in flight: that request must not reconnect.
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def request(self, command: RemotingCommand, timeout: float) -> RemotingCommand:
        """Send `command` and return the response carrying its opaque."""
        deadline = time.monotonic() + timeout
        frame = hints.request_frame(command, self.credentials)  # before anything is sent
        self._acquire(deadline)
        self._closing = False
        try:
            reused = self._sock is not None
            sock = self._send(frame, deadline)
            try:
                return self._receive(sock, command.opaque, deadline)
            except _ClosedBeforeAnswer as exc:
                if not reused or self._closing:
                    raise NameServerConnectionError(str(exc), address=self.address) from exc
            # The server closed a kept-alive connection just as the request went out (its idle
            # close raced our send): nothing was answered, so a fresh connection is a safe retry.
            log.debug("%s: kept-alive connection closed under the request; retrying", self.address)
            sock = self._send(frame, deadline)
            try:
                return self._receive(sock, command.opaque, deadline)
            except _ClosedBeforeAnswer as exc:
                raise NameServerConnectionError(str(exc), address=self.address) from exc
        finally:
            self._lock.release()

    def oneway(self, command: RemotingCommand, timeout: float) -> None:
        """Send `command` (flagged one-way by the caller); nothing comes back."""
        deadline = time.monotonic() + timeout
        frame = hints.request_frame(command, self.credentials)
        self._acquire(deadline)
        self._closing = False
        try:
            self._send(frame, deadline)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the connection. A request in flight in another thread is not waited for (an
        interrupted CLI must end at once): its socket is shut down, which ends that request
        with a connection error, and the request then drops the connection itself."""
        if self._lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._lock.release()
            return
        self._closing = True
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("%s: shutting down the busy connection failed", self.address)

    # ----------------------------------------------------------------------------------------

    def _acquire(self, deadline: float) -> None:
        if not self._lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            raise NameServerTimeoutError(
                f"timed out waiting for the connection to {self.address}, busy with another "
                "request",
                address=self.address,
            )

    def _send(self, frame: bytes, deadline: float) -> socket.socket:
        reused = self._sock is not None and not self._peer_closed()
        for attempt in (1, 2):
            sock = self._sock if reused else self._connect(deadline)
            try:
                sock.settimeout(self._remaining(deadline, "sending"))
                sock.sendall(frame)
                return sock
            except (BrokenPipeError, ConnectionResetError) as exc:
                # A connection the server has just closed fails on the first write: the request
                # did not get through, so one fresh connection is a safe retry.
                self._drop()
                if not reused or attempt == 2:
                    raise self._connection_error("sending failed", exc) from exc
                reused = False
            except TimeoutError as exc:
                self._drop()
                raise self._timeout("sending") from exc
            except OSError as exc:
                self._drop()
                raise self._connection_error("sending failed", exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _receive(self, sock: socket.socket, opaque: int, deadline: float) -> RemotingCommand:
        received = 0
        try:
            while True:
                remaining = self._remaining(deadline, "waiting for the answer")
                sock.settimeout(min(remaining, _WAKE_UP_SECONDS))
                try:
                    data = sock.recv(_RECV_SIZE)
                except TimeoutError:
                    if remaining <= _WAKE_UP_SECONDS:
                        raise
                    continue  # only the deadline ends the wait (see _WAKE_UP_SECONDS)
                if not data:
                    partial = self._decoder.buffered
                    self._drop()
                    if not received:
                        raise _ClosedBeforeAnswer(
                            self._closed_message(reset=False), address=self.address
                        )
                    detail = f" in the middle of a frame ({partial} bytes)" if partial else ""
                    raise NameServerConnectionError(
                        f"{self.address} closed the connection{detail} before answering",
                        address=self.address,
                    )
                received += len(data)
                if len(self._head) < hints.HEAD_BYTES:
                    self._head += data[: hints.HEAD_BYTES - len(self._head)]
                for response in self._decoder.feed(data):
                    if response.is_response and response.opaque == opaque:
                        return response
                    log.debug(
                        "%s: dropping unmatched frame code=%s opaque=%s",
                        self.address,
                        response.code,
                        response.opaque,
                    )
        except NameServerError:
            self._drop()
            raise
        except ProtocolError as exc:
            head = self._head
            self._drop()
            tls = self.ssl_context is not None
            raise NameServerProtocolError(
                hints.invalid_frame(self.address, exc, head, tls=tls), address=self.address
            ) from exc
        except TimeoutError as exc:
            self._drop()
            raise self._timeout("waiting for the answer") from exc
        except ConnectionResetError as exc:
            self._drop()
            if not received:
                raise _ClosedBeforeAnswer(
                    self._closed_message(reset=True), address=self.address
                ) from exc
            raise self._connection_error("receiving failed", exc) from exc
        except OSError as exc:
            self._drop()
            raise self._connection_error("receiving failed", exc) from exc

    def _connect(self, deadline: float) -> socket.socket:
        self._drop()
        budget = min(self.connect_timeout, self._remaining(deadline, "connecting"))
        try:
            sock = socket.create_connection((_ascii_host(self.host), self.port), timeout=budget)
        except TimeoutError as exc:
            raise NameServerTimeoutError(
                f"connecting to {self.address} timed out after {budget:.3g}s",
                address=self.address,
            ) from exc
        except OSError as exc:
            raise self._connection_error("cannot connect", exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self._handshake(sock, deadline)
        self._sock = sock
        self._decoder = FrameDecoder()
        self._head = b""
        if self._closing:
            # close() came from another thread while this connection was being made, before
            # it had a socket to shut down: honour it now rather than wait for an answer.
            self._drop()
            raise NameServerConnectionError(
                f"the connection to {self.address} was closed while connecting",
                address=self.address,
            )
        log.debug("connected to %s", self.address)
        return sock

    def _handshake(self, sock: socket.socket, deadline: float) -> socket.socket:
        from nsctl.client.tls import describe_handshake_failure

        assert self.ssl_context is not None
        try:
            sock.settimeout(min(self.connect_timeout, self._remaining(deadline, "connecting")))
            return self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError as exc:
            sock.close()
            raise NameServerTimeoutError(
                f"TLS handshake with {self.address} timed out", address=self.address
            ) from exc
        except OSError as exc:
            sock.close()
            reason = describe_handshake_failure(exc) or exc.strerror or str(exc)
            raise NameServerConnectionError(
                f"TLS handshake with {self.address} failed: {reason}", address=self.address
            ) from exc

    def _peer_closed(self) -> bool:
        """True when the idle connection can no longer be used: the server closed it (it does
        after 120 s idle) or sent something nobody asked for."""
        sock = self._sock
        assert sock is not None
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            self._drop()
            return True
        if not readable or self._only_tls_records(sock):
            return False
        log.debug("%s: idle connection closed by the server or out of sync", self.address)
        self._drop()
        return True

    def _only_tls_records(self, sock: socket.socket) -> bool:
        """A TLS server may send records after the handshake that carry no data (TLS 1.3
        session tickets): readable, yet the connection is fine. Read them to find out."""
        if self.ssl_context is None:
            return False
        import ssl

        try:
            sock.setblocking(False)
            sock.recv(1)  # data nobody asked for, or EOF: the connection is not usable
        except ssl.SSLWantReadError:
            return True
        except OSError:
            pass
        finally:
            sock.setblocking(True)
        return False

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        self._decoder = FrameDecoder()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                log.debug("%s: error while closing", self.address, exc_info=True)

    def _remaining(self, deadline: float, doing: str) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._drop()
            raise self._timeout(doing)
        return remaining

    def _closed_message(self, *, reset: bool) -> str:
        return hints.closed_before_answer(
            self.address, reset=reset, tls=self.ssl_context is not None
        )

    def _timeout(self, doing: str) -> NameServerTimeoutError:
        return NameServerTimeoutError(f"timed out {doing} on {self.address}", address=self.address)

    def _connection_error(self, what: str, exc: OSError) -> NameServerConnectionError:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return NameServerConnectionError(
            f"{what} to {self.address}: {reason}", address=self.address
        )
