"""Small purpose-built TCP servers on 127.0.0.1 for the client's failure paths.

`ScriptedServer(behaviour)` accepts connections on an ephemeral port and runs `behaviour(conn)`
on a thread per connection. The behaviours below misbehave in one specific way each.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import FrameDecoder, encode

Behaviour = Callable[[socket.socket], None]
Answer = Callable[[RemotingCommand], RemotingCommand | None]


class ScriptedServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        for conn in list(self._open):
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour(conn)
        except OSError:
            pass
        finally:
            conn.close()


def requests_of(
    conn: socket.socket, server: ScriptedServer | None = None
) -> Iterator[RemotingCommand]:
    """The requests arriving on `conn` until the peer closes."""
    decoder = FrameDecoder()
    while True:
        data = conn.recv(65536)
        if not data:
            return
        for command in decoder.feed(data):
            if server is not None:
                server.requests.append(command)
            yield command


def closed_port_address() -> str:
    """An address nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


def success(request: RemotingCommand, **ext: str) -> RemotingCommand:
    return request.make_response(ext_fields=dict(ext))


def echo_kv(request: RemotingCommand) -> RemotingCommand:
    """GET_KV_CONFIG answered with value = "<namespace>/<key>"; anything else SUCCESS."""
    ext = request.ext_fields or {}
    if "key" in ext:
        return success(request, value=f"{ext.get('namespace')}/{ext['key']}")
    return success(request)


# --- behaviours ------------------------------------------------------------------------------


def silent(conn: socket.socket) -> None:
    """Accept, read everything, never answer."""
    while conn.recv(65536):
        pass


def responder(
    answer: Answer = echo_kv,
    *,
    delay: float = 0.0,
    serialize_type: SerializeType | None = None,
) -> Behaviour:
    """Answer every request with `answer(request)` after `delay`, optionally forcing the
    response serialization (5.3.3 answers in its own default, whatever the request used)."""

    def behave(conn: socket.socket) -> None:
        for request in requests_of(conn):
            response = answer(request)
            if response is None or request.is_oneway:
                continue
            if serialize_type is not None:
                response.serialize_type = serialize_type
            if delay:
                time.sleep(delay)
            conn.sendall(encode(response))

    return behave


def close_mid_frame(conn: socket.socket) -> None:
    """Answer half a frame, then close."""
    for request in requests_of(conn):
        frame = encode(echo_kv(request))
        conn.sendall(frame[: len(frame) // 2])
        time.sleep(0.05)
        return


def half_frame_then_silence(conn: socket.socket) -> None:
    """Answer half a frame, then keep the connection open without another byte."""
    for request in requests_of(conn):
        frame = encode(echo_kv(request))
        conn.sendall(frame[: len(frame) // 2])
        silent(conn)
        return


def garbage(conn: socket.socket) -> None:
    """Answer with something that is not a remoting frame (an HTTP error page)."""
    for _ in requests_of(conn):
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        time.sleep(0.05)
        return


def answer_once_then_close(conn: socket.socket) -> None:
    """Answer one request, then close, like a server dropping an idle connection."""
    for request in requests_of(conn):
        conn.sendall(encode(echo_kv(request)))
        return


def out_of_order(batch: int) -> Behaviour:
    """Collect `batch` requests, then answer them in reverse order (one write)."""

    def behave(conn: socket.socket) -> None:
        waiting: list[RemotingCommand] = []
        for request in requests_of(conn):
            waiting.append(request)
            if len(waiting) == batch:
                conn.sendall(b"".join(encode(echo_kv(r)) for r in reversed(waiting)))
                waiting.clear()

    return behave


def slow_first(delay: float) -> Behaviour:
    """The first request on the first connection is answered late; everything else at once."""
    state = {"first": True}

    def behave(conn: socket.socket) -> None:
        for request in requests_of(conn):
            if state.pop("first", False):
                time.sleep(delay)
                # The late answer carries a recognisable value.
                response = success(request, value="late")
            else:
                response = echo_kv(request)
            conn.sendall(encode(response))

    return behave
