"""Ask many brokers at once: bounded concurrency, one overall deadline, one answer per address.

A broker that refuses, never answers, closes mid-answer, answers garbage or answers an error
code gives a `BrokerAnswer` with `error` set; it never raises out of `query_brokers`. So one
silent broker costs at most one broker timeout, however many brokers there are.

`write_brokers` runs one write (an operation) on many brokers the same way and sorts what each
gave into ok / refused / unreachable / timeout, the four cases a command reports per broker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from nsctl.client.broker_client import AsyncBrokerClient
from nsctl.client.errors import (
    NameServerConnectionError,
    NameServerError,
    NameServerResponseError,
    NameServerTimeoutError,
)
from nsctl.client.operations import Operation
from nsctl.protocol.broker_models import BrokerRuntimeInfo, utf16_order
from nsctl.protocol.models import ClusterInfo

if TYPE_CHECKING:
    import ssl

    from nsctl.protocol.acl import Credentials

T = TypeVar("T")

#: Brokers asked at the same time by default.
DEFAULT_CONCURRENCY = 64


@dataclass(frozen=True, slots=True)
class ListedBroker:
    """One broker address as a NameServer lists it."""

    cluster: str
    broker_name: str
    broker_id: int
    address: str


def listed_brokers(info: ClusterInfo, cluster: str | None = None) -> list[ListedBroker]:
    """Every broker address of `info` (of `cluster` only, if given): clusters and broker names
    in Java String order, ids ascending. A name a cluster lists without addresses is left out."""
    found = []
    for name in sorted(info.cluster_addr_table, key=utf16_order):
        if cluster is not None and name != cluster:
            continue
        for broker_name in sorted(info.cluster_addr_table[name], key=utf16_order):
            broker = info.broker_addr_table.get(broker_name)
            if broker is None:
                continue
            for broker_id, address in sorted(broker.broker_addrs.items()):
                found.append(ListedBroker(name, broker_name, broker_id, address))
    return found


@dataclass(frozen=True, slots=True)
class BrokerAnswer(Generic[T]):
    """What one broker address gave: a value, or the error that stands for it."""

    address: str
    value: T | None = None
    error: NameServerError | None = None
    latency_ms: float | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None

    @property
    def error_text(self) -> str | None:
        return None if self.error is None else " ".join(str(self.error).split())


async def query_brokers(
    addresses: Iterable[str],
    query: Callable[[AsyncBrokerClient], Awaitable[T]],
    *,
    timeout: float = 3.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> dict[str, BrokerAnswer[T]]:
    """Run `query(client)` on every distinct address, at most `concurrency` at a time.

    `timeout` bounds each broker (connecting included); `deadline` (default twice `timeout`)
    bounds the whole fan-out: a broker still waiting for a free slot when it passes is reported
    as timed out without being asked. Answers come back in the order of `addresses`. With
    `credentials` every query is signed (ACL).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    unique = list(dict.fromkeys(addresses))
    loop = asyncio.get_running_loop()
    end = loop.time() + (2 * timeout if deadline is None else deadline)
    slots = asyncio.Semaphore(concurrency)

    async def one(address: str) -> BrokerAnswer[T]:
        async with slots:
            budget = min(timeout, end - loop.time())
            if budget <= 0:
                return BrokerAnswer(
                    address,
                    error=NameServerTimeoutError(
                        f"{address} not asked: the overall deadline passed first", address=address
                    ),
                )
            try:
                client = AsyncBrokerClient(
                    address,
                    timeout=budget,
                    connect_timeout=budget,
                    ssl_context=ssl_context,
                    credentials=credentials,
                )
            except ValueError:  # a NameServer can list any string as a broker address
                return BrokerAnswer(
                    address,
                    error=NameServerConnectionError(
                        f"invalid broker address {address!r}: expected host:port",
                        address=address,
                    ),
                )
            started = time.perf_counter()
            try:
                async with client:
                    value = await asyncio.wait_for(query(client), budget)
            except NameServerError as error:
                return BrokerAnswer(address, error=error)
            except asyncio.TimeoutError:
                return BrokerAnswer(
                    address,
                    error=NameServerTimeoutError(
                        f"no answer from {address} within {budget:.3g}s", address=address
                    ),
                )
            return BrokerAnswer(address, value, latency_ms=(time.perf_counter() - started) * 1000)

    answers = await asyncio.gather(*(one(address) for address in unique))
    return {answer.address: answer for answer in answers}


def query_brokers_sync(
    addresses: Iterable[str],
    query: Callable[[AsyncBrokerClient], Awaitable[T]],
    **settings,
) -> dict[str, BrokerAnswer[T]]:
    """`query_brokers` from blocking code (runs its own event loop)."""
    return asyncio.run(query_brokers(addresses, query, **settings))


async def runtime_infos(
    addresses: Iterable[str], **settings
) -> dict[str, BrokerAnswer[BrokerRuntimeInfo]]:
    """GET_BROKER_RUNTIME_INFO on every address."""
    return await query_brokers(
        addresses, lambda client: client.get_broker_runtime_info(), **settings
    )


#: What a write did on one broker.
WriteStatus = Literal["ok", "refused", "unreachable", "timeout"]


@dataclass(frozen=True, slots=True)
class BrokerWriteResult(Generic[T]):
    """One broker's outcome of a write.

    - "ok": the broker answered SUCCESS (`value` is the parsed result, None for most writes);
    - "refused": it answered an error code (`code`, `remark`: 29 for a bad or system topic);
    - "unreachable": no connection, a connection that broke, or an answer that is not the
      protocol (no usable answer at all);
    - "timeout": no complete answer in time (or not asked before the overall deadline).
    """

    address: str
    status: WriteStatus
    value: T | None = None
    code: int | None = None
    remark: str | None = None
    error: NameServerError | None = None
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error_text(self) -> str | None:
        return None if self.error is None else " ".join(str(self.error).split())


def write_status(error: NameServerError | None) -> WriteStatus:
    """The write status an error stands for (None: the write succeeded)."""
    if error is None:
        return "ok"
    if isinstance(error, NameServerResponseError):
        return "refused"
    if isinstance(error, NameServerTimeoutError):
        return "timeout"
    return "unreachable"


async def write_brokers(
    addresses: Iterable[str],
    operation: Operation[T] | Callable[[str], Operation[T]],
    **settings: Any,
) -> dict[str, BrokerWriteResult[T]]:
    """Run `operation` on every distinct address in parallel, within `query_brokers`'s bounds
    (`timeout` per broker, one overall `deadline`, `concurrency`, `ssl_context`). Never raises
    for a broker's failure: each address gets its `BrokerWriteResult`, in the given order.

    `operation` may be a function of the address, for a write that differs per broker
    (updateTopicPerm keeps each broker's own queue numbers)."""
    if isinstance(operation, Operation):
        fixed = operation
        answers = await query_brokers(addresses, lambda client: client.execute(fixed), **settings)
    else:
        per_address = operation
        answers = await query_brokers(
            addresses, lambda client: client.execute(per_address(client.address)), **settings
        )
    results: dict[str, BrokerWriteResult[T]] = {}
    for address, answer in answers.items():
        error = answer.error
        refused = isinstance(error, NameServerResponseError)
        results[address] = BrokerWriteResult(
            address,
            write_status(error),
            value=answer.value,
            code=error.code if refused else None,  # type: ignore[union-attr]
            remark=error.remark if refused else None,  # type: ignore[union-attr]
            error=error,
            latency_ms=answer.latency_ms,
        )
    return results


def write_brokers_sync(
    addresses: Iterable[str],
    operation: Operation[T] | Callable[[str], Operation[T]],
    **settings: Any,
) -> dict[str, BrokerWriteResult[T]]:
    """`write_brokers` from blocking code (runs its own event loop)."""
    return asyncio.run(write_brokers(addresses, operation, **settings))
