"""A minimal blocking test client that speaks raw frames, so tests control every byte."""

from __future__ import annotations

import itertools
import socket

from nsctl.protocol import frame
from nsctl.protocol.codes import SerializeType, Version
from nsctl.protocol.command import FLAG_ONEWAY, RemotingCommand
from nsctl.protocol.frame import FrameDecoder
from nsctl.protocol.register import DataVersion, RegisterBrokerBody, TopicConfig, body_crc32

_opaques = itertools.count(1000)


def request(
    code: int,
    ext: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    version: int = int(Version.V5_3_3),
    serialize: SerializeType = SerializeType.JSON,
    oneway: bool = False,
) -> RemotingCommand:
    return RemotingCommand(
        code=code,
        language="PYTHON",
        version=version,
        opaque=next(_opaques),
        flag=FLAG_ONEWAY if oneway else 0,
        ext_fields=ext,
        body=body,
        serialize_type=serialize,
    )


class WireClient:
    def __init__(self, address: str, timeout: float = 5.0) -> None:
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = FrameDecoder()
        self.pending: list[RemotingCommand] = []

    def send(self, command: RemotingCommand) -> None:
        self.sock.sendall(frame.encode(command))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> RemotingCommand:
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.pending.extend(self.decoder.feed(data))
        return self.pending.pop(0)

    def call(self, command: RemotingCommand) -> RemotingCommand:
        self.send(command)
        response = self.recv()
        assert response.opaque == command.opaque, (response.opaque, command.opaque)
        return response

    def closed_by_server(self) -> bool:
        """Wait (up to the socket timeout) for the server to close; True if it did."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close_and_wait(self) -> None:
        """Close our side and wait until the server has closed its side, i.e. has run its
        connection-closed cleanup (asyncio calls connection_lost before closing the socket)."""
        self.sock.shutdown(socket.SHUT_WR)
        self.closed_by_server()
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def register_request(
    *,
    broker_name: str = "broker-a",
    broker_addr: str = "127.0.0.1:10911",
    broker_id: int = 0,
    cluster: str = "DefaultCluster",
    ha_addr: str | None = None,
    topics: dict[str, int] | None = None,
    version: DataVersion | None = None,
    extra_ext: dict[str, str] | None = None,
    serialize: SerializeType = SerializeType.JSON,
) -> RemotingCommand:
    """A REGISTER_BROKER as a 5.3.3 broker sends it; `topics` maps name -> queue count."""
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = version or DataVersion(0, 1, 0)
    for name, queues in (topics if topics is not None else {"TopicTest": 4, "TBW102": 8}).items():
        wrapper.topic_config_table[name] = TopicConfig(name, queues, queues)
    raw = body.encode()
    ext = {
        "brokerName": broker_name,
        "brokerAddr": broker_addr,
        "clusterName": cluster,
        "haServerAddr": ha_addr or _next_port(broker_addr),
        "brokerId": str(broker_id),
        "compressed": "false",
        "bodyCrc32": str(body_crc32(raw)),
        **(extra_ext or {}),
    }
    return request(103, ext, raw, serialize=serialize)


def _next_port(addr: str) -> str:
    host, _, port = addr.rpartition(":")
    return f"{host}:{int(port) + 1}"
