"""`StandInBrokers`: any number of stand-in brokers served by one event loop on a thread, so
blocking code (a test, `serve --demo`, a benchmark) can start, inspect and stop them."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from nsctl.protocol.broker_admin import SubscriptionGroupConfig
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.register import TopicConfig
from nsctl.standin.broker import StandInBroker

T = TypeVar("T")

#: Bound on starting or stopping one stand-in from the calling thread.
CALL_TIMEOUT = 30.0


class StandInBrokers:
    """Stand-in brokers on one loop thread; `add` starts one and returns its address."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.brokers: dict[str, StandInBroker] = {}
        self._names = itertools.count(1)
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="nsctl-standins", daemon=True
        )
        self._thread.start()

    def add(
        self,
        behaviour: str = "answer",
        *,
        answers: Mapping[int, bytes] | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        cluster: str = "DefaultCluster",
        broker_name: str | None = None,
        broker_id: int = 0,
        namesrv: Iterable[str] = (),
        register_interval: float = 30.0,
        topics: Mapping[str, TopicConfig] | Iterable[TopicConfig] | None = None,
        groups: Mapping[str, SubscriptionGroupConfig]
        | Iterable[SubscriptionGroupConfig]
        | None = None,
        timeout: float = 3.0,
        **options: Any,
    ) -> str:
        """Start one stand-in (see `StandInBroker`, which takes `options` too); returns its
        address. Without a name it is called `standin-N`."""
        broker = StandInBroker(
            cluster,
            broker_name or f"standin-{next(self._names)}",
            broker_id,
            namesrv,
            host,
            port,
            register_interval,
            topics,
            groups,
            behaviour=behaviour,
            answers=answers,
            timeout=timeout,
            **options,
        )
        self.call(broker.start())
        self.brokers[broker.address] = broker
        return broker.address

    def broker(self, address: str) -> StandInBroker:
        return self.brokers[address]

    def stop(self, address: str) -> None:
        """Stop one stand-in (it unregisters first)."""
        broker = self.brokers.pop(address)
        self.call(broker.stop())

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Run `coroutine` on the stand-ins' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def requests(self) -> dict[str, list[RemotingCommand]]:
        """The requests each stand-in received (only those that received any)."""
        return {a: list(b.requests) for a, b in self.brokers.items() if b.requests}

    def close(self) -> None:
        """Stop every stand-in, then the loop thread."""
        if self.loop.is_closed():
            return

        async def stop_all() -> None:
            await asyncio.gather(*(b.stop() for b in self.brokers.values()))

        try:
            self.call(stop_all())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(CALL_TIMEOUT)
            self.loop.close()

    def __enter__(self) -> StandInBrokers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
