"""`StandInBroker`: a small real broker on a TCP port, for demos and tests.

It answers the broker requests nsctl makes (runtime info, topic stats and config, topic and
group writes, the whole tables) from `BrokerTables`, as a 5.3.3 broker does, and behaves like
one towards its NameServers through the client's `BrokerAgent`: a full registration on start
and every `register_interval` seconds, an incremental one holding only the topic after each
accepted UPDATE_AND_CREATE_TOPIC (sent, and answered, before the broker answers the write),
nothing after deletions, and an unregistration on stop. Its listening side is the server's
`FrameListener`, so the server and the client never need each other.

For tests it can misbehave on purpose (`behaviour`):

- "answer":  answer as a broker (the default)
- "silent":  accept and read, never answer
- "half":    send the first half of the answer, then close
- "garbage": answer with bytes that are not a frame (an HTTP error line)
- "error":   answer SYSTEM_ERROR with a remark

and `answers` replaces the answer of a request code by a canned frame (a captured one, say),
sent byte for byte but for its opaque.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
import time
from collections.abc import Awaitable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING

from nsctl.client.broker import UNREGISTER_TIMEOUT, BrokerAgent, OnRegistered, RegisterOutcome
from nsctl.protocol.broker_admin import SubscriptionGroupConfig
from nsctl.protocol.codes import ResponseCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import encode
from nsctl.protocol.register import TopicConfig
from nsctl.server.server import Answer, FrameListener, RawAnswer
from nsctl.standin.tables import BROKER_VERSION, BrokerTables, Reply

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

BEHAVIOURS = ("answer", "silent", "half", "garbage", "error")
GARBAGE = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
#: Requests remembered for inspection (the oldest half is dropped beyond this).
MAX_REMEMBERED = 10_000

_OPAQUE = re.compile(rb'"opaque":-?\d+')


def with_opaque(frame: bytes, opaque: int) -> bytes:
    """`frame` (a complete frame with a JSON header) with its opaque replaced; every other byte
    kept, lengths fixed."""
    word = struct.unpack_from(">I", frame, 4)[0]
    header_length = word & 0xFFFFFF
    header = frame[8 : 8 + header_length]
    new_header, count = _OPAQUE.subn(b'"opaque":%d' % opaque, header, count=1)
    if count != 1:
        raise ValueError("frame header has no opaque field")
    body = frame[8 + header_length :]
    new_word = (word & 0xFF000000) | len(new_header)
    return struct.pack(">II", 4 + len(new_header) + len(body), new_word) + new_header + body


def _now_ms() -> int:
    return int(time.time() * 1000)


class StandInBroker:
    """Broker `broker_name` (id `broker_id`) of `cluster`, listening on host:port (0: a free
    port) and registered on the NameServers `namesrv` (none: it registers nowhere)."""

    def __init__(
        self,
        cluster: str = "DefaultCluster",
        broker_name: str = "broker-a",
        broker_id: int = 0,
        namesrv: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        register_interval: float = 30.0,
        topics: Mapping[str, TopicConfig] | Iterable[TopicConfig] | None = None,
        groups: Mapping[str, SubscriptionGroupConfig]
        | Iterable[SubscriptionGroupConfig]
        | None = None,
        *,
        behaviour: str = "answer",
        answers: Mapping[int, bytes] | None = None,
        timeout: float = 3.0,
        with_system_topics: bool = True,
        compressed: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        on_registered: OnRegistered | None = None,
        agent: BrokerAgent | None = None,
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}: one of {', '.join(BEHAVIOURS)}")
        if register_interval <= 0:
            raise ValueError("register_interval must be positive")
        self.cluster = cluster
        self.broker_name = broker_name
        self.broker_id = broker_id
        self.namesrv = list(namesrv)
        self.host = host
        self.port = port
        self.register_interval = register_interval
        self.behaviour = behaviour
        self.timeout = timeout
        self.answers = dict(answers or {})
        #: How it talks to its NameServers: compressed full registrations, TLS.
        self.compressed = compressed
        self.ssl_context = ssl_context
        #: Called with (NameServer, outcome) after every full registration attempt.
        self.on_registered = on_registered
        topic_list = topics.values() if isinstance(topics, Mapping) else (topics or ())
        group_list = groups.values() if isinstance(groups, Mapping) else (groups or ())
        self.tables = BrokerTables(
            cluster,
            broker_name,
            now_ms=_now_ms(),
            topics={t.topic_name: t for t in topic_list},
            groups={g.group_name: g for g in group_list},
            with_system_topics=with_system_topics,
        )
        #: Every request received, oldest first (bounded by MAX_REMEMBERED).
        self.requests: list[RemotingCommand] = []
        #: The latest registration outcome on each NameServer.
        self.registrations: dict[str, RegisterOutcome] = {}
        #: Full registrations the NameServers answered (on start, periodic, after a reconnect).
        self.full_registrations = 0
        self._listener: FrameListener | None = None
        #: An agent the caller runs (registerBroker --listen, which follows an address server
        #: and gives up as it is told): changes are registered through it, and the stand-in
        #: runs no agent of its own.
        self._given_agent = agent
        self._agent: BrokerAgent | None = None
        self._stop: asyncio.Event | None = None
        self._running: asyncio.Task | None = None

    @property
    def address(self) -> str:
        """host:port, what it registers as its address (known once started)."""
        return f"{self.host}:{self.port}"

    # --- life --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, then register on every NameServer; returns once each has answered the
        first registration or `timeout` has passed (it keeps trying in the background)."""
        listener = FrameListener(self, host=self.host, port=self.port)
        await listener.listen()
        self._listener = listener
        self.port = listener.port
        if self._given_agent is not None:
            self._agent = self._given_agent
            self._agent.set_topics(
                self.tables.topics, data_version=self.tables.topic_version, announce=False
            )
            return
        if not self.namesrv:
            return
        agent = BrokerAgent(
            self.namesrv,
            cluster_name=self.cluster,
            broker_name=self.broker_name,
            broker_addr=self.address,
            broker_id=self.broker_id,
            include_system_topics=False,  # the tables hold them already
            register_interval=self.register_interval,
            timeout=self.timeout,
            compressed=self.compressed,
            ssl_context=self.ssl_context,
        )
        agent.set_topics(self.tables.topics, data_version=self.tables.topic_version, announce=False)
        self._agent = agent
        first = asyncio.Event()

        def registered(address: str, outcome: RegisterOutcome) -> None:
            self.registrations[address] = outcome
            if not isinstance(outcome, Exception):
                self.full_registrations += 1
            if self.on_registered is not None:
                self.on_registered(address, outcome)
            if len(self.registrations) >= len(set(self.namesrv)):
                first.set()

        self._stop = asyncio.Event()
        self._running = asyncio.get_running_loop().create_task(agent.run(self._stop, registered))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(first.wait(), self.timeout + 1)

    async def stop(self) -> None:
        """Unregister from every NameServer, then stop listening and close every connection."""
        if self._running is not None and self._stop is not None:
            self._stop.set()
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(self._running, UNREGISTER_TIMEOUT + self.timeout + 1)
            self._running = None
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    async def __aenter__(self) -> StandInBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- answering (the FrameListener's RequestHandler) --------------------------------------

    def handle(
        self, request: RemotingCommand, conn: Hashable, peer_host: str
    ) -> Answer | Awaitable[Answer]:
        self._remember(request)
        behaviour = self.behaviour
        if behaviour == "silent":
            return None
        if behaviour == "garbage":
            return RawAnswer(GARBAGE)
        if behaviour == "error":
            return request.make_response(
                ResponseCode.SYSTEM_ERROR, "broker is overloaded", version=BROKER_VERSION
            )
        canned = self.answers.get(request.code)
        if canned is not None:
            data = with_opaque(canned, request.opaque)
            if behaviour == "half":
                return RawAnswer(data[: len(data) // 2], close=True)
            return RawAnswer(data)
        reply = self.tables.answer(request, _now_ms())
        if behaviour == "half":
            data = encode(reply.response)
            return RawAnswer(data[: len(data) // 2], close=True)
        agent = self._agent
        if agent is None:
            return reply.response
        if agent.data_version != self.tables.topic_version:
            # The next full registration carries the table as it is now.
            agent.set_topics(
                self.tables.topics, data_version=self.tables.topic_version, announce=False
            )
        if reply.register is None:
            return reply.response
        return self._register_then_answer(agent, reply)

    def connection_closed(self, conn: Hashable) -> None:
        """Nothing is kept per connection."""

    async def _register_then_answer(self, agent: BrokerAgent, reply: Reply) -> Answer:
        assert reply.register is not None
        # Shielded: a client that leaves before the answer does not stop the registration of
        # a topic the broker has already taken.
        outcomes = await asyncio.shield(
            agent.register_increment({reply.register.topic_name: reply.register})
        )
        self.registrations.update(outcomes)
        # A NameServer that did not take it only delays the route: the broker still answers
        # SUCCESS, as a 5.3.3 broker does, and the next full registration catches up.
        return reply.response

    def _remember(self, request: RemotingCommand) -> None:
        if len(self.requests) >= MAX_REMEMBERED:
            del self.requests[: MAX_REMEMBERED // 2]
        self.requests.append(request)

    def __repr__(self) -> str:
        return f"StandInBroker({self.cluster}/{self.broker_name}@{self.address})"
