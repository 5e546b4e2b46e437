"""An asyncio load generator: route-query clients and re-registering brokers against one
server, every answer checked (code, opaque), latencies kept. Bounded in time and requests,
loopback only. Used by the CI smoke test here and by tests/stress/test_load.py."""

from __future__ import annotations

import asyncio
import itertools
import resource
import statistics
import struct
import time
from dataclasses import dataclass, field

from nsctl.protocol import decode, encode
from nsctl.protocol.codes import RequestCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.register import DataVersion
from tests.server.wire import register_request

TOPIC = "LoadTopic"
_opaques = itertools.count(1)


def raise_fd_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards the hard one (child processes inherit it); the
    soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class LoadResult:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    registrations: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=1000)[round(p * 10) - 1] * 1000


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, address: str) -> Connection:
        host, _, port = address.rpartition(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def call(self, command: RemotingCommand) -> RemotingCommand:
        self.writer.write(encode(command))
        (length,) = struct.unpack(">i", await self.reader.readexactly(4))
        response = decode(struct.pack(">i", length) + await self.reader.readexactly(length))
        if response.opaque != command.opaque:
            raise AssertionError(f"opaque {response.opaque} answers request {command.opaque}")
        return response

    def close(self) -> None:
        self.writer.close()


def route_request() -> RemotingCommand:
    return RemotingCommand(
        code=RequestCode.GET_ROUTEINFO_BY_TOPIC, opaque=next(_opaques), ext_fields={"topic": TOPIC}
    )


def broker_registration(index: int, counter: int) -> RemotingCommand:
    command = register_request(
        broker_name=f"load-broker-{index}",
        broker_addr=f"127.0.1.{index // 200 + 1}:{10000 + index % 200 * 10}",
        cluster="LoadCluster",
        topics={TOPIC: 4, f"load-topic-{index}": 4},
        version=DataVersion(counter, counter, 0),
    )
    command.opaque = next(_opaques)
    return command


async def run_load(
    address: str,
    *,
    clients: int,
    brokers: int,
    seconds: float,
    max_requests: int,
    heartbeat_interval: float = 0.5,
    connect_parallelism: int = 100,
) -> LoadResult:
    """`brokers` connections register and keep re-registering (a new DataVersion every third
    time, as a broker whose topics changed) while `clients` connections query the route of a
    topic all brokers serve, one request in flight each, for `seconds` or `max_requests`."""
    result = LoadResult()
    gate = asyncio.Semaphore(connect_parallelism)

    async def connect() -> Connection:
        async with gate:
            return await Connection.open(address)

    broker_conns = await asyncio.gather(*(connect() for _ in range(brokers)))
    for index, conn in enumerate(broker_conns):
        response = await conn.call(broker_registration(index, 1))
        if response.code != 0:
            result.failures.append(f"broker {index} first registration: {response.remark}")
    client_conns = await asyncio.gather(*(connect() for _ in range(clients)))
    budget = max(1, max_requests // max(clients, 1))
    started = time.perf_counter()
    deadline = started + seconds
    stop = asyncio.Event()

    async def broker(index: int, conn: Connection) -> None:
        for beat in itertools.count(2):
            try:
                await asyncio.wait_for(stop.wait(), heartbeat_interval)
                return
            except asyncio.TimeoutError:
                pass
            counter = beat // 3 + 1
            try:
                response = await conn.call(broker_registration(index, counter))
            except (OSError, asyncio.IncompleteReadError, AssertionError) as exc:
                result.failures.append(f"broker {index}: {exc!r}")
                return
            result.registrations += 1
            if response.code != 0:
                result.failures.append(f"broker {index} re-registration: {response.remark}")

    async def client(conn: Connection) -> None:
        for _ in range(budget):
            if time.perf_counter() > deadline:
                return
            sent = time.perf_counter()
            try:
                response = await conn.call(route_request())
            except (OSError, asyncio.IncompleteReadError, AssertionError) as exc:
                result.failures.append(f"client: {exc!r}")
                return
            result.latencies.append(time.perf_counter() - sent)
            result.requests += 1
            if response.code != 0:
                result.failures.append(f"route query: {response.code} {response.remark}")

    broker_tasks = [asyncio.create_task(broker(i, c)) for i, c in enumerate(broker_conns)]
    await asyncio.gather(*(client(c) for c in client_conns))
    result.seconds = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*broker_tasks)
    for conn in (*client_conns, *broker_conns):
        conn.close()
    return result
