"""Managers over a list of NameServers: failover, retries and TTL caches.

`NameServerManager` (blocking, thread-safe) and `AsyncNameServerManager` (asyncio) share one
policy, `FailoverPolicy`, that decides which address to try next, and `TTLCache` for routes and
broker addresses; each manager only runs the loop with its own kind of sleeping and calling.

Policy, like the Java client: stay on the last NameServer that answered (sticky); on a
connection failure, timeout or garbage move on to the next address and leave the failed one
aside for `QUARANTINE_SECONDS` (it is still tried when every other one failed as well). A whole
pass over the addresses is one round; up to `max_retry_times` rounds (the first attempt and
`max_retry_times - 1` retries), `retry_interval` apart; `broadcast` gives each address that
many attempts of its own.
An error answered by a live NameServer (topic not found, KV not found, ...) is the answer and
is not retried elsewhere, except the server-side failures SYSTEM_ERROR, SYSTEM_BUSY, GO_AWAY.
NameServers do not replicate each other, so writes go to every address with `broadcast`.

Hedged reads: a NameServer that accepts the connection and never answers would cost a whole
`timeout` before the next address is tried. So `invoke` asks the next address too when the
current one has not answered within `hedge_delay` seconds (0.3 by default; 0 turns it off),
takes the first answer, and leaves the slow one aside as a failed one: the next call starts
with the address that answered. `broadcast` leaves aside, the same way, the addresses that
could not be reached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nsctl.client.client import AsyncNameServerClient, NameServerClient
from nsctl.client.discovery import parse_addresses
from nsctl.client.errors import (
    NameServerError,
    NameServerResponseError,
    NameServerUsageError,
    NoNameServerAddressError,
    TopicNotFoundError,
    is_server_side_failure,
)
from nsctl.client.quiet_log import QuietLogger
from nsctl.protocol.codes import SerializeType
from nsctl.protocol.models import BrokerData, ClusterInfo, TopicRouteData

if TYPE_CHECKING:
    import ssl

    from nsctl.protocol.acl import Credentials

log = QuietLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: How long an address that failed is tried only after every other one.
QUARANTINE_SECONDS = 30.0


@dataclass
class NameServerConfig:
    """Settings of a manager. `nameserver_addrs` is `"host:port;host:port"` (`,` works too) or
    a list.

    TLS: `tls=True` verifies the servers against the system's CAs, `tls_ca` against that CA
    file instead, `tls_insecure` not at all (self-signed test clusters); either of the last two
    implies `tls`. An `ssl_context` of your own overrides the three.

    ACL: with `credentials` every request to every NameServer is signed (a NameServer ignores
    the signature; a broker behind the same settings checks it).
    """

    nameserver_addrs: str | list[str]
    timeout: float = 3.0
    connect_timeout: float = 3.0
    broker_cache_ttl: float = 30.0
    route_cache_ttl: float = 30.0
    max_retry_times: int = 3
    retry_interval: float = 1.0
    serialize_type: SerializeType = SerializeType.JSON
    tls: bool = False
    tls_ca: str | None = None
    tls_insecure: bool = False
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    credentials: Credentials | None = None
    #: Seconds without an answer before `invoke` asks the next NameServer too (0: never).
    hedge_delay: float = 0.3
    addresses: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        raw = self.nameserver_addrs
        text = raw if isinstance(raw, str) else ";".join(raw)
        self.addresses = parse_addresses(text)
        if not self.addresses:
            raise NoNameServerAddressError(f"no NameServer address in {raw!r}")
        if self.max_retry_times < 1:
            raise NameServerUsageError(
                f"max_retry_times must be at least 1, not {self.max_retry_times}"
            )
        for name in ("timeout", "connect_timeout"):
            if not getattr(self, name) > 0:  # NaN too
                raise NameServerUsageError(f"{name} must be positive")
        for name in ("retry_interval", "broker_cache_ttl", "route_cache_ttl", "hedge_delay"):
            if not getattr(self, name) >= 0:
                raise NameServerUsageError(f"{name} must not be negative")
        if self.ssl_context is None and (self.tls or self.tls_ca or self.tls_insecure):
            from nsctl.client.tls import client_context

            self.ssl_context = client_context(ca_file=self.tls_ca, insecure=self.tls_insecure)


class TTLCache(Generic[K, V]):
    """A thread-safe map whose entries expire `ttl` seconds after they were stored."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (expiry, _) in self._entries.items() if expiry <= now]:
                del self._entries[key]
            return len(self._entries)


class FailoverPolicy:
    """Which NameServer to try next. Thread-safe; knows nothing of sockets or event loops."""

    def __init__(self, addresses: list[str], *, max_rounds: int, retry_interval: float) -> None:
        self.addresses = list(addresses)
        self.max_rounds = max_rounds
        self.retry_interval = retry_interval
        self.quarantine = QUARANTINE_SECONDS
        self._current = 0
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def current(self) -> str:
        return self.addresses[self._current]

    def order(self) -> list[str]:
        """Addresses in trying order: the sticky one first, the others around the ring, those
        still in quarantine last (soonest released first)."""
        now = time.monotonic()
        with self._lock:
            count = len(self.addresses)
            ring = [self.addresses[(self._current + i) % count] for i in range(count)]
            until = dict(self._failed_until)
        healthy = [a for a in ring if until.get(a, 0.0) <= now]
        resting = sorted((a for a in ring if until.get(a, 0.0) > now), key=until.__getitem__)
        return healthy + resting

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._current = self.addresses.index(address)
            self._failed_until.pop(address, None)

    def failed(self, address: str) -> None:
        with self._lock:
            self._failed_until[address] = time.monotonic() + self.quarantine

    def recovered(self, address: str) -> None:
        """`address` answered (in a broadcast): no longer aside, the sticky one unchanged."""
        with self._lock:
            self._failed_until.pop(address, None)

    def quarantined(self) -> dict[str, float]:
        """Failed addresses and the seconds left before they are tried first again."""
        now = time.monotonic()
        with self._lock:
            return {a: round(u - now, 3) for a, u in self._failed_until.items() if u > now}

    def attempts(self) -> Attempts:
        return Attempts(self)


class Attempts:
    """One call's walk over the addresses: iterate for (address, pause before trying), report
    each outcome, and ask for the final error when the walk ends without success."""

    def __init__(self, policy: FailoverPolicy) -> None:
        self.policy = policy
        self.errors: list[NameServerError] = []

    def __iter__(self) -> Iterator[tuple[str, float]]:
        for round_number in range(self.policy.max_rounds):
            pause = self.policy.retry_interval if round_number else 0.0
            for address in self.policy.order():
                yield address, pause
                pause = 0.0

    def succeeded(self, address: str) -> None:
        self.policy.succeeded(address)

    def failed(self, address: str, error: NameServerError) -> None:
        """Record `error`; re-raise it when it is an answer another server would repeat."""
        if not is_server_side_failure(error):
            # A live server answered: it stays the sticky one and its answer is final.
            self.policy.succeeded(address)
            raise error
        log.info("NameServer %s failed: %s", address, error)
        if not isinstance(error, NameServerResponseError):
            self.policy.failed(address)
        self.errors.append(error)

    def error(self) -> NameServerError:
        last = self.errors[-1]
        if isinstance(last, NameServerResponseError):
            return last
        tried = "; ".join(str(e) for e in self.errors[-len(self.policy.addresses) :])
        attempts, rounds = len(self.errors), self.policy.max_rounds
        addresses = len(self.policy.addresses)
        summary = type(last)(
            f"no NameServer answered after {_count(attempts, 'attempt')} "
            f"({_count(rounds, 'round')} over {_count(addresses, 'address', 'addresses')}): "
            f"{tried}"
        )
        summary.__cause__ = last
        return summary


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


# --- pure helpers shared by both managers --------------------------------------------------


def broker_address_in_route(route: TopicRouteData, broker_name: str) -> str | None:
    broker = route.broker(broker_name)
    return broker.select_addr() if broker is not None else None


def all_addresses(brokers: list[BrokerData]) -> list[str]:
    """Every address of the groups, group by group in name order, master (id 0) first."""
    result: list[str] = []
    for broker in sorted(brokers, key=lambda b: b.broker_name):
        for _, address in sorted(broker.broker_addrs.items()):
            if address not in result:
                result.append(address)
    return result


def preferred_addresses(cluster: ClusterInfo) -> dict[str, str]:
    """broker name → its master's address (else its lowest-id slave's)."""
    found = {name: broker.select_addr() for name, broker in cluster.broker_addr_table.items()}
    return {name: address for name, address in found.items() if address}


class _ManagerBase:
    """State both managers hold: configuration, failover policy, caches."""

    def __init__(self, config: NameServerConfig) -> None:
        self.config = config
        self._policy = FailoverPolicy(
            config.addresses,
            max_rounds=config.max_retry_times,
            retry_interval=config.retry_interval,
        )
        self._routes: TTLCache[str, TopicRouteData] = TTLCache(config.route_cache_ttl)
        self._broker_addresses: TTLCache[str, str] = TTLCache(config.broker_cache_ttl)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        #: After stop() no new connection is opened until start() is called again, so a thread
        #: still running against a stopped manager cannot leak sockets.
        self._stopped = False

    @property
    def addresses(self) -> list[str]:
        return list(self.config.addresses)

    def clear_cache(self) -> None:
        self._routes.clear()
        self._broker_addresses.clear()

    def get_cache_info(self) -> dict[str, Any]:
        with self._clients_lock:
            connected = [a for a, c in self._clients.items() if c.connected]
        return {
            "cached_routes": len(self._routes),
            "cached_broker_addresses": len(self._broker_addresses),
            "connected_nameservers": connected,
            "nameserver_addrs": self.addresses,
            "current_nameserver": self._policy.current,
            "failed_nameservers": self._policy.quarantined(),
            "route_cache_ttl": self.config.route_cache_ttl,
            "broker_cache_ttl": self.config.broker_cache_ttl,
        }

    def _client(self, address: str, factory: Callable[..., Any]) -> Any:
        with self._clients_lock:
            if self._stopped:
                raise NameServerError("the NameServer manager is stopped", address=address)
            client = self._clients.get(address)
            if client is None:
                client = factory(
                    address,
                    timeout=self.config.timeout,
                    connect_timeout=self.config.connect_timeout,
                    serialize_type=self.config.serialize_type,
                    ssl_context=self.config.ssl_context,
                    credentials=self.config.credentials,
                )
                self._clients[address] = client
            return client

    def _take_clients(self) -> list[Any]:
        with self._clients_lock:
            self._stopped = True
            clients, self._clients = list(self._clients.values()), {}
        return clients


class NameServerManager(_ManagerBase):
    """Blocking manager; safe to share between threads."""

    def start(self) -> NameServerManager:
        """Allow connections (again, after `stop`). They open lazily, on first use; a manager
        that was never stopped works without calling this."""
        with self._clients_lock:
            self._stopped = False
        return self

    def stop(self) -> None:
        """Close every connection; the manager may be started again."""
        for client in self._take_clients():
            client.close()

    def __enter__(self) -> NameServerManager:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client_for(self, address: str) -> NameServerClient:
        """The manager's (shared, lazily connected) client of one address."""
        return self._client(address, NameServerClient)

    def invoke(self, fn: Callable[[NameServerClient], T]) -> T:
        """`fn(client)` on the sticky NameServer, failing over as the policy says, and asking
        the next one too when an answer is `hedge_delay` late (see the module's docstring)."""
        import queue

        attempts = self._policy.attempts()
        walk = iter(attempts)
        answers: queue.SimpleQueue = queue.SimpleQueue()
        running: set[str] = set()

        def ask(address: str) -> None:
            try:
                answers.put((address, fn(self.client_for(address)), None))
            except Exception as exc:  # not only NameServerError: a TypeError must not hang us
                answers.put((address, None, exc))

        #: Addresses whose turn came while their previous attempt still ran: tried again as
        #: soon as that one ends, so every round still asks every address.
        deferred: list[str] = []

        def start(address: str) -> None:
            running.add(address)
            threading.Thread(
                target=ask, args=(address,), name=f"nsctl-invoke {address}", daemon=True
            ).start()

        def start_next() -> bool:
            for address, pause in walk:
                if address in running:
                    deferred.append(address)  # a second request would queue behind it
                    continue
                if pause:
                    time.sleep(pause)
                start(address)
                return True
            return False

        hedge = self.config.hedge_delay if len(self.addresses) > 1 else 0.0
        start_next()
        while running:
            waited = 0.0
            while True:
                # In slices: Ctrl-C is handled between them; a hedge starts at its delay.
                slice_ = 0.25 if not hedge else min(0.25, max(hedge - waited, 0.01))
                try:
                    address, result, error = answers.get(timeout=slice_)
                    break
                except queue.Empty:
                    waited += slice_
                    if hedge and waited >= hedge and start_next():
                        waited = float("-inf")  # one hedge per silence; failures start more
            running.discard(address)
            if error is not None and not isinstance(error, NameServerError):
                raise error  # the caller's bug (a TypeError), as a direct call raises it
            if error is None:
                attempts.succeeded(address)
                for slow in running:  # still silent: leave them aside for the next calls
                    self._policy.failed(slow)
                return result
            attempts.failed(address, error)  # raises an answer another server would repeat
            if address in deferred:
                deferred.remove(address)
                start(address)
            elif not running:
                start_next()
        raise attempts.error()

    def broadcast(self, fn: Callable[[NameServerClient], T]) -> dict[str, T | NameServerError]:
        """`fn(client)` on every NameServer at once; each address maps to its result or error.

        Each address is retried on its own (`max_retry_times` attempts) when it cannot be
        reached, times out or answers a server-side failure. The calls run in daemon threads
        and the caller only waits for them, so Ctrl-C in the caller ends the wait at once.
        """
        results: dict[str, T | NameServerError] = {}
        #: What `fn` raised that is not a NameServerError (a TypeError of the caller's): raised
        #: here in the caller's thread, as `invoke` does.
        unexpected: list[BaseException] = []

        def run(address: str) -> None:
            try:
                for attempt in range(self.config.max_retry_times):
                    if attempt:
                        time.sleep(self.config.retry_interval)
                    try:
                        results[address] = fn(self.client_for(address))
                        self._policy.recovered(address)
                        return
                    except NameServerError as exc:
                        results[address] = exc
                        if not is_server_side_failure(exc):
                            self._policy.recovered(address)  # it answered
                            return
                        log.info("NameServer %s failed (attempt %d): %s", address, attempt + 1, exc)
                        if not isinstance(exc, NameServerResponseError):
                            self._policy.failed(address)  # the next calls start elsewhere
            except Exception as exc:
                unexpected.append(exc)

        threads = [
            threading.Thread(target=run, args=(a,), name=f"nsctl-broadcast {a}", daemon=True)
            for a in self.addresses
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                # In slices: a Ctrl-C that lands just before a long wait begins would only be
                # handled when the wait ends.
                thread.join(0.25)
        if unexpected:
            raise unexpected[0]
        return {address: results[address] for address in self.addresses}

    def get_topic_route(self, topic: str) -> TopicRouteData:
        """The topic's route, from cache when younger than `route_cache_ttl`."""
        route = self._routes.get(topic)
        if route is None:
            route = self.invoke(lambda client: client.query_topic_route_info(topic))
            self._routes.put(topic, route)
        return route

    def get_broker_address(self, broker_name: str, topic: str | None = None) -> str | None:
        """The broker's master address (a slave's if it has no master), or None when no such
        broker is registered. Looked up in the topic's route if given, else in the cluster."""
        cached = self._broker_addresses.get(broker_name)
        if cached is not None:
            return cached
        if topic is not None:
            try:
                address = broker_address_in_route(self.get_topic_route(topic), broker_name)
            except TopicNotFoundError:
                address = None
            if address is not None:
                self._broker_addresses.put(broker_name, address)
                return address
        cluster = self.invoke(lambda client: client.get_broker_cluster_info())
        found = preferred_addresses(cluster)
        for name, address in found.items():
            self._broker_addresses.put(name, address)
        return found.get(broker_name)

    def get_all_broker_addresses(self, topic: str) -> list[str]:
        """Every address (masters first within a group) of the brokers serving `topic`."""
        return all_addresses(self.get_topic_route(topic).broker_datas)


class AsyncNameServerManager(_ManagerBase):
    """asyncio manager: the same policy, with awaitable calls."""

    async def start(self) -> AsyncNameServerManager:
        with self._clients_lock:
            self._stopped = False
        return self

    async def stop(self) -> None:
        for client in self._take_clients():
            await client.aclose()

    async def __aenter__(self) -> AsyncNameServerManager:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def client_for(self, address: str) -> AsyncNameServerClient:
        return self._client(address, AsyncNameServerClient)

    async def invoke(self, fn: Callable[[AsyncNameServerClient], Awaitable[T]]) -> T:
        """As `NameServerManager.invoke`: failover, and a hedge after `hedge_delay`."""
        import asyncio

        attempts = self._policy.attempts()
        walk = iter(attempts)
        running: dict[asyncio.Task, str] = {}

        deferred: list[str] = []  # as in NameServerManager.invoke

        def start(address: str) -> None:
            running[asyncio.ensure_future(fn(self.client_for(address)))] = address

        async def start_next() -> bool:
            for address, pause in walk:
                if address in running.values():
                    deferred.append(address)
                    continue
                if pause:
                    await asyncio.sleep(pause)
                start(address)
                return True
            return False

        hedge = self.config.hedge_delay if len(self.addresses) > 1 else 0.0
        await start_next()
        try:
            while running:
                done, _ = await asyncio.wait(
                    running, timeout=hedge or None, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    if not await start_next():
                        hedge = 0.0  # nothing left to hedge with: wait for what runs
                    continue
                for task in done:
                    address = running.pop(task)
                    try:
                        result = task.result()
                    except NameServerError as exc:
                        attempts.failed(address, exc)  # raises a final answer
                        if address in deferred:
                            deferred.remove(address)
                            start(address)
                        continue
                    attempts.succeeded(address)
                    for slow in running.values():
                        self._policy.failed(slow)
                    return result
                if not running:
                    await start_next()
            raise attempts.error()
        finally:
            for task in running:
                task.cancel()

    async def broadcast(
        self, fn: Callable[[AsyncNameServerClient], Awaitable[T]]
    ) -> dict[str, T | NameServerError]:
        import asyncio

        async def run(address: str) -> T | NameServerError:
            for attempt in range(self.config.max_retry_times):
                if attempt:
                    await asyncio.sleep(self.config.retry_interval)
                try:
                    result = await fn(self.client_for(address))
                    self._policy.recovered(address)
                    return result
                except NameServerError as exc:
                    error = exc
                    if not is_server_side_failure(exc):
                        self._policy.recovered(address)  # it answered
                        break
                    log.info("NameServer %s failed (attempt %d): %s", address, attempt + 1, exc)
                    if not isinstance(exc, NameServerResponseError):
                        self._policy.failed(address)
            return error

        results = await asyncio.gather(*(run(a) for a in self.addresses))
        return dict(zip(self.addresses, results, strict=True))

    async def get_topic_route(self, topic: str) -> TopicRouteData:
        route = self._routes.get(topic)
        if route is None:
            route = await self.invoke(lambda client: client.query_topic_route_info(topic))
            self._routes.put(topic, route)
        return route

    async def get_broker_address(self, broker_name: str, topic: str | None = None) -> str | None:
        cached = self._broker_addresses.get(broker_name)
        if cached is not None:
            return cached
        if topic is not None:
            try:
                address = broker_address_in_route(await self.get_topic_route(topic), broker_name)
            except TopicNotFoundError:
                address = None
            if address is not None:
                self._broker_addresses.put(broker_name, address)
                return address
        cluster = await self.invoke(lambda client: client.get_broker_cluster_info())
        found = preferred_addresses(cluster)
        for name, address in found.items():
            self._broker_addresses.put(name, address)
        return found.get(broker_name)

    async def get_all_broker_addresses(self, topic: str) -> list[str]:
        return all_addresses((await self.get_topic_route(topic)).broker_datas)
