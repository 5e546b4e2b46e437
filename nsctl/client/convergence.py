"""Waiting until every NameServer shows a change (`--wait`): ask each one again and again,
with one overall deadline, until a condition holds on all of them.

A broker tells the NameServers about a topic change by registering (5.x: an incremental
REGISTER_BROKER before it answers the write), and a NameServer forgets a route only when told
to; NameServers do not talk to each other. So after a write the only proof that clients see it
is each NameServer's own answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nsctl.client.errors import NameServerError, TopicNotFoundError

if TYPE_CHECKING:
    import ssl

    from nsctl.client.client import NameServerClient
    from nsctl.protocol.acl import Credentials
    from nsctl.protocol.models import TopicRouteData

#: Seconds between two rounds of questions.
POLL_INTERVAL = 0.2


@dataclass
class WaitResult:
    """Which NameServers showed the change, which did not before the deadline (and what the
    last answer or failure of each was), and how long it took."""

    shown: list[str] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.pending


def wait_until(
    addresses: Iterable[str],
    shows: Callable[[NameServerClient], str | None],
    *,
    timeout: float,
    request_timeout: float = 3.0,
    ssl_context: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
    interval: float = POLL_INTERVAL,
    client_class: type | None = None,
) -> WaitResult:
    """Ask every address `shows(client)` until each returned None (it shows the change; a
    string says what it shows instead), or until `timeout` seconds have passed. With
    `credentials` every question is signed (ACL). The addresses are NameServers unless
    `client_class` says otherwise (`BrokerClient`: groups live on the brokers)."""
    from nsctl.client.client import NameServerClient

    client_class = client_class or NameServerClient

    start = time.monotonic()
    deadline = start + timeout
    pending = {address: "not asked yet" for address in dict.fromkeys(addresses)}
    result = WaitResult()
    clients: dict[str, NameServerClient] = {}
    try:
        while True:
            for address in list(pending):
                left = deadline - time.monotonic()
                per_request = max(0.05, min(request_timeout, left))
                try:
                    client = clients.get(address)
                    if client is None or not client.connected:
                        client = clients[address] = client_class(
                            address,
                            timeout=per_request,
                            connect_timeout=per_request,
                            ssl_context=ssl_context,
                            credentials=credentials,
                        )
                    why = shows(client)
                except NameServerError as error:
                    clients.pop(address, None)
                    why = f"cannot ask it: {error}"
                if why is None:
                    del pending[address]
                    result.shown.append(address)
                else:
                    pending[address] = why
            if not pending or time.monotonic() + interval > deadline:
                break
            time.sleep(interval)
    finally:
        for client in clients.values():
            client.close()
    result.pending = pending
    result.seconds = time.monotonic() - start
    return result


def route_or_none(client: NameServerClient, topic: str) -> TopicRouteData | None:
    """The topic's route, None when the NameServer has none."""
    try:
        return client.query_topic_route_info(topic)
    except TopicNotFoundError:
        return None


def route_shows_queues(
    topic: str, expected: dict[str, tuple[int, int, int]]
) -> Callable[[NameServerClient], str | None]:
    """A condition: the route has, for every broker name, (read, write, perm) as expected."""

    def shows(client: NameServerClient) -> str | None:
        route = route_or_none(client, topic)
        if route is None:
            return "no route yet"
        for broker_name, (read, write, perm) in sorted(expected.items()):
            queue = route.queue_data(broker_name)
            if queue is None:
                return f"no queues of {broker_name} yet"
            seen = (queue.read_queue_nums, queue.write_queue_nums, queue.perm)
            if seen != (read, write, perm):
                return f"{broker_name} shows read {seen[0]} write {seen[1]} perm {seen[2]}"
        return None

    return shows


def route_gone(topic: str, broker_names: set[str] | None = None) -> Callable[..., str | None]:
    """A condition: no queue of `broker_names` (of any broker when None) left in the route."""

    def shows(client: NameServerClient) -> str | None:
        route = route_or_none(client, topic)
        if route is None:
            return None
        left = sorted(
            q.broker_name
            for q in route.queue_datas
            if broker_names is None or q.broker_name in broker_names
        )
        return f"{topic} still has queues on {', '.join(left)}" if left else None

    return shows
