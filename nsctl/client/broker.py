"""`BrokerAgent`: plays a broker towards NameServers, over the real protocol.

A NameServer keeps a broker only while the connection it registered on stays open and the
broker re-registers in time (every 30 s for a real broker, expiry after 120 s). The agent does
what a broker's NameServer side does: it registers on every NameServer, keeps one connection
open to each, re-registers every `register_interval` seconds and at once when that connection
drops (a restarted NameServer is back in the cluster as soon as it accepts connections again),
and unregisters from all of them when stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from nsctl.client.client import AsyncNameServerClient
from nsctl.client.errors import NameServerError, is_server_side_failure
from nsctl.protocol.acl import Credentials
from nsctl.protocol.codes import AUTO_CREATE_TOPIC, SELF_TEST_TOPIC, SYNC_BROKER_MEMBER_TOPIC_PREFIX
from nsctl.protocol.register import (
    DataVersion,
    RegisterBrokerResult,
    TopicConfig,
    TopicConfigSerializeWrapper,
)

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

RegisterOutcome = RegisterBrokerResult | NameServerError
OnRegistered = Callable[[str, RegisterOutcome], None]

#: Upper bound on the pause before trying a NameServer again after a failed registration.
RETRY_DELAY = 2.0
#: How long unregistering may take on stop, per NameServer (Java uses 3 s too).
UNREGISTER_TIMEOUT = 3.0

PERM_RW = 6
PERM_RWX = 7


def system_topics(cluster_name: str, broker_name: str) -> dict[str, TopicConfig]:
    """The topics a 5.3.3 broker with default settings registers besides the user's (no
    RMQ_SYS_TRACE_TOPIC: traceTopicEnable is off by default)."""
    specs = [
        (AUTO_CREATE_TOPIC, 8, PERM_RWX),  # template for auto-created topics
        (SELF_TEST_TOPIC, 1, PERM_RW),
        (cluster_name, 16, PERM_RWX),  # clusterTopicEnable
        (broker_name, 1, PERM_RWX),  # brokerTopicEnable
        ("BenchmarkTest", 1024, PERM_RW),
        ("OFFSET_MOVED_EVENT", 1, PERM_RW),
        ("SCHEDULE_TOPIC_XXXX", 18, PERM_RW),
        ("RMQ_SYS_TRANS_HALF_TOPIC", 1, PERM_RW),
        ("RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, PERM_RW),
        (f"{cluster_name}_REPLY_TOPIC", 1, PERM_RW),
        (f"rmq_sys_REVIVE_LOG_{cluster_name}", 8, PERM_RW),
        ("rmq_sys_wheel_timer", 1, PERM_RW),
        (f"{SYNC_BROKER_MEMBER_TOPIC_PREFIX}{broker_name}", 1, 1),  # inherit-only, as 5.x does
    ]
    return {
        name: TopicConfig(name, queues, queues, perm, attributes={}) for name, queues, perm in specs
    }


class BrokerAgent:
    """Acts as broker `broker_name` (id `broker_id`, at `broker_addr`) on every NameServer."""

    def __init__(
        self,
        addresses: Iterable[str],
        *,
        cluster_name: str,
        broker_name: str,
        broker_addr: str,
        broker_id: int = 0,
        ha_server_addr: str | None = None,
        topics: Mapping[str, TopicConfig] | None = None,
        include_system_topics: bool = True,
        compressed: bool = False,
        register_interval: float = 30.0,
        timeout: float = 3.0,
        ssl_context: ssl.SSLContext | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.addresses = list(addresses)
        if not self.addresses:
            raise ValueError("BrokerAgent needs at least one NameServer address")
        if register_interval <= 0:
            raise ValueError("register_interval must be positive")
        self.cluster_name = cluster_name
        self.broker_name = broker_name
        self.broker_addr = broker_addr
        self.broker_id = broker_id
        self.ha_server_addr = ha_server_addr
        self.include_system_topics = include_system_topics
        self.compressed = compressed
        self.register_interval = register_interval
        self.timeout = timeout
        self.ssl_context = ssl_context
        #: Signs every request to the NameServers (ACL), as a broker's own hook would.
        self.credentials = credentials
        self._user_topics: dict[str, TopicConfig] = {}
        self._table: dict[str, TopicConfig] = {}
        self._data_version = DataVersion(0, _now_ms(), 0)
        self._clients: dict[str, AsyncNameServerClient] = {}
        #: NameServers whose latest registration answered SUCCESS: the ones to unregister from.
        self._accepted: set[str] = set()
        self._topics_changed: asyncio.Event | None = None
        #: While `run()` runs: one keeper task per NameServer, and what `set_addresses` needs.
        self._keepers: dict[str, asyncio.Task] = {}
        self._running: tuple[asyncio.Event, OnRegistered | None] | None = None
        self.set_topics(topics or {})

    # --- topics ----------------------------------------------------------------------------

    @property
    def topic_configs(self) -> dict[str, TopicConfig]:
        """The full table registered: system topics (if included) and the user's."""
        return dict(self._table)

    @property
    def data_version(self) -> DataVersion:
        return self._data_version

    def set_topics(
        self,
        topics: Mapping[str, TopicConfig],
        *,
        data_version: DataVersion | None = None,
        announce: bool = True,
    ) -> None:
        """Replace the user topics. A changed table gets a new DataVersion (`data_version` when
        given, even for the same table) and running agents re-register at once, as a broker
        does after a topic update; with `announce=False` the table only goes out with the
        next periodic registration (a broker that deleted a topic tells nobody)."""
        self._user_topics = {config.topic_name: config for config in topics.values()}
        table = (
            system_topics(self.cluster_name, self.broker_name) if self.include_system_topics else {}
        )
        table.update(self._user_topics)
        if table == self._table and data_version is None:
            return
        self._table = table
        if data_version is not None:
            self._data_version = data_version
        else:
            previous = self._data_version
            # The NameServer rewrites its queue data only when the DataVersion differs.
            self._data_version = DataVersion(
                previous.counter + 1,
                max(_now_ms(), previous.timestamp + 1),
                0,
            )
        if announce and self._topics_changed is not None:
            self._topics_changed.set()

    def add_topic(self, config: TopicConfig) -> None:
        self.set_topics({**self._user_topics, config.topic_name: config})

    def remove_topic(self, topic: str) -> None:
        self.set_topics({k: v for k, v in self._user_topics.items() if k != topic})

    def set_addresses(self, addresses: Iterable[str]) -> tuple[list[str], list[str]]:
        """Register on these NameServers from now on (an address server's list changed).
        A running agent registers on the new ones at once and closes its connections to the
        removed ones (which drops it there, as a broker's closed channel does). Returns the
        addresses added and removed."""
        new = list(dict.fromkeys(addresses))
        if not new:
            raise ValueError("BrokerAgent needs at least one NameServer address")
        added = [a for a in new if a not in self.addresses]
        removed = [a for a in self.addresses if a not in new]
        self.addresses = new
        if self._running is not None:
            stop, on_registered = self._running
            for address in removed:
                keeper = self._keepers.pop(address, None)
                if keeper is not None:
                    keeper.cancel()
                client = self._clients.pop(address, None)
                self._accepted.discard(address)  # the closed connection dropped it there
                if client is not None:
                    asyncio.get_running_loop().create_task(client.aclose())
            for address in added:
                self._keepers[address] = asyncio.create_task(
                    self._keep_registered(address, stop, on_registered)
                )
        return added, removed

    # --- one-shot operations ---------------------------------------------------------------

    async def register_once(
        self, *, retries: int = 0, retry_interval: float = 0.2
    ) -> dict[str, RegisterOutcome]:
        """Register on every NameServer at once, each with up to `retries` more attempts when
        it cannot be reached or times out. The connections stay open (the registrations live
        as long as they do) until `aclose()` or the end of `run()`."""

        async def one(address: str) -> RegisterOutcome:
            for attempt in range(retries + 1):
                if attempt:
                    await asyncio.sleep(retry_interval)
                outcome = await self._register(address)
                if not isinstance(outcome, NameServerError) or not is_server_side_failure(outcome):
                    break
            return outcome

        outcomes = await asyncio.gather(*(one(a) for a in self.addresses))
        return dict(zip(self.addresses, outcomes, strict=True))

    async def register_increment(
        self, configs: Mapping[str, TopicConfig]
    ) -> dict[str, RegisterOutcome]:
        """Register only `configs`, with the current DataVersion, on every NameServer at once:
        what a 5.3.3 broker sends after creating or updating a topic (the NameServer merges
        it into what it holds). Returns each NameServer's outcome; never raises for one."""
        table = dict(configs)
        outcomes = await asyncio.gather(*(self._register(a, table) for a in self.addresses))
        return dict(zip(self.addresses, outcomes, strict=True))

    async def unregister(self) -> dict[str, NameServerError | None]:
        """Unregister from every NameServer whose latest registration it accepted (the others
        hold nothing of this broker, and a silent one would only cost a timeout)."""

        async def one(address: str) -> NameServerError | None:
            client = self._client(address)
            try:
                await asyncio.wait_for(
                    client.unregister_broker(
                        cluster_name=self.cluster_name,
                        broker_name=self.broker_name,
                        broker_addr=self.broker_addr,
                        broker_id=self.broker_id,
                    ),
                    UNREGISTER_TIMEOUT + self.timeout,
                )
            except NameServerError as exc:
                # The caller gets the error back and reports it; no log line of its own.
                log.info("unregistering %s from %s failed: %s", self.broker_name, address, exc)
                return exc
            return None

        accepted = [a for a in self.addresses if a in self._accepted]
        results = await asyncio.gather(*(one(a) for a in accepted))
        self._accepted.difference_update(accepted)
        return dict(zip(accepted, results, strict=True))

    async def aclose(self) -> None:
        """Close every connection (the NameServers then drop this broker)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> BrokerAgent:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- the broker's life -----------------------------------------------------------------

    async def run(
        self, stop_event: asyncio.Event, on_registered: OnRegistered | None = None
    ) -> dict[str, NameServerError | None]:
        """Stay registered everywhere until `stop_event` is set, then unregister and close.

        `on_registered(address, outcome)` is called after every registration attempt.
        Returns what unregistering gave on each NameServer (None where it worked).
        """
        self._topics_changed = asyncio.Event()
        self._running = (stop_event, on_registered)
        self._keepers = {
            a: asyncio.create_task(self._keep_registered(a, stop_event, on_registered))
            for a in self.addresses
        }
        try:
            while not stop_event.is_set():
                stopped = asyncio.ensure_future(stop_event.wait())
                keepers = list(self._keepers.values())
                try:
                    # Wakes up at the stop, or when a keeper fails (its error is raised) or
                    # is cancelled by set_addresses (then the loop just goes on).
                    await asyncio.wait([stopped, *keepers], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopped.cancel()
                for keeper in keepers:
                    if keeper.done() and not keeper.cancelled() and keeper.exception():
                        raise keeper.exception()  # type: ignore[misc]
                # A finished keeper was cancelled by set_addresses: forget it.
                self._keepers = {a: k for a, k in self._keepers.items() if not k.done()}
        finally:
            self._running = None
            keepers = list(self._keepers.values())
            self._keepers = {}
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            try:
                results = await self.unregister()
            finally:
                await self.aclose()
                self._topics_changed = None
        return results

    async def _keep_registered(
        self, address: str, stop: asyncio.Event, on_registered: OnRegistered | None
    ) -> None:
        while not stop.is_set():
            changed = self._topics_changed
            outcome = await self._register(address)
            _notify(on_registered, address, outcome)
            if isinstance(outcome, NameServerError):
                await _first_of(stop.wait(), timeout=min(self.register_interval, RETRY_DELAY))
                continue
            waits = [stop.wait(), self._client(address).wait_closed()]
            if changed is not None:
                waits.append(changed.wait())
            await _first_of(*waits, timeout=self.register_interval)
            if changed is not None and changed.is_set():
                # Every keeper has seen this change once it re-registers; a fresh event
                # catches the next one.
                self._topics_changed = asyncio.Event()

    async def _register(
        self, address: str, table: dict[str, TopicConfig] | None = None
    ) -> RegisterOutcome:
        wrapper = TopicConfigSerializeWrapper(
            topic_config_table=dict(self._table) if table is None else table,
            data_version=self._data_version,
        )
        try:
            result = await self._client(address).register_broker(
                cluster_name=self.cluster_name,
                broker_name=self.broker_name,
                broker_addr=self.broker_addr,
                broker_id=self.broker_id,
                ha_server_addr=self.ha_server_addr,
                topic_configs=wrapper,
                compressed=self.compressed,
            )
        except NameServerError as exc:
            log.info("registering %s on %s failed: %s", self.broker_name, address, exc)
            self._accepted.discard(address)
            return exc
        assert result is not None  # not one-way
        self._accepted.add(address)
        log.debug("registered %s on %s", self.broker_name, address)
        return result

    def _client(self, address: str) -> AsyncNameServerClient:
        client = self._clients.get(address)
        if client is None:
            client = AsyncNameServerClient(
                address,
                timeout=self.timeout,
                connect_timeout=self.timeout,
                ssl_context=self.ssl_context,
                credentials=self.credentials,
            )
            self._clients[address] = client
        return client


def _notify(callback: OnRegistered | None, address: str, outcome: RegisterOutcome) -> None:
    if callback is None:
        return
    try:
        callback(address, outcome)
    except Exception:
        log.exception("on_registered callback failed for %s", address)


async def _first_of(*awaitables, timeout: float) -> None:
    """Wait until one of `awaitables` finishes or `timeout` passes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _now_ms() -> int:
    return int(time.time() * 1000)
