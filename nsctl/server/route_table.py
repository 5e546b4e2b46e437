"""`RouteTable`: the NameServer's in-memory tables and every rule that changes them.

A plain object: no sockets, no clock, no tasks. Time (`now`, milliseconds) is passed in, and a
connection is an opaque hashable id chosen by the network layer. The semantics are those of the
Java NameServer 5.3.3 (`RouteInfoManager`), including its quirks, with one deliberate difference:
an unregistration is applied at once instead of being queued, so a caller that gets SUCCESS can
rely on the broker being gone.

The tables iterate in the order Java's do (`java_order`): answers list topics, brokers and
clusters in that order, so they are byte-identical to Java's after the same registrations.

Encoded route bodies (per topic and encoding) and the encoded cluster info are cached, because
route lookups are by far the most frequent request; every change that a route or the cluster info
can show clears the cache.

The work that grows with the number of topics can be done in another thread, so that the event
loop that owns the table keeps answering meanwhile (see `nsctl.server.offload`):

- `plan_topics` works out what a registration's topics change, reading the table; the loop hands
  the `TopicPlan` to `register_broker`, which applies it at once if no topic changed since the
  plan was begun (`topics_stamp`), and works it out again itself otherwise;
- `topic_list_job` gives the work of a topic list from a snapshot (`ListJob`), and
  `finish_topic_list` takes its body.

Either way the table changes all at once, on the loop: no answer sees half a change.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import methodcaller, not_

from nsctl.protocol import dialect
from nsctl.protocol.codes import (
    FLAG_UNIT,
    FLAG_UNIT_SUB,
    MASTER_ID,
    PERM_READ,
    PERM_WRITE,
    SYNC_BROKER_MEMBER_TOPIC_PREFIX,
)
from nsctl.protocol.java_order import (
    JavaConcurrentHashMap,
    JavaHashMap,
    JavaHashSet,
    OrderJob,
    chm_order,
    hashset_copy_order,
)
from nsctl.protocol.models import (
    BrokerData,
    QueueData,
    TopicList,
    TopicQueueMappingInfo,
    TopicRouteData,
)
from nsctl.protocol.register import DataVersion, TopicConfig
from nsctl.protocol.unregister import unregister_effect
from nsctl.server.changes import next_stamp

#: How long a broker stays registered without a refresh unless it says otherwise (5.3.3).
DEFAULT_BROKER_TIMEOUT_MS = 120_000

ConnId = Hashable
BrokerKey = tuple[str, str]  # (clusterName, brokerAddr), as 5.3.3 keys its live table


@dataclass(slots=True)
class BrokerLiveInfo:
    """What keeps one broker process registered."""

    last_update: int
    timeout_ms: int
    data_version: DataVersion
    conn: ConnId | None
    ha_server_addr: str | None

    def expired(self, now: int) -> bool:
        return self.last_update + self.timeout_ms < now


@dataclass(slots=True)
class Registration:
    """A REGISTER_BROKER request, already decoded.

    `enable_acting_master` is None when the header did not carry the field (a 4.x broker), which
    5.3.3 treats differently from an explicit false.
    """

    cluster_name: str
    broker_addr: str
    broker_name: str
    broker_id: int
    ha_server_addr: str | None = None
    topics: dict[str, TopicConfig] = field(default_factory=dict)
    data_version: DataVersion = field(default_factory=lambda: DataVersion(0, 0, 0))
    filter_servers: list[str] | None = None
    topic_queue_mappings: dict[str, TopicQueueMappingInfo] | None = None
    timeout_ms: int | None = None
    enable_acting_master: bool | None = None
    zone_name: str | None = None


@dataclass(slots=True)
class RegisterOutcome:
    """`accepted` False means "register broker failed"; the master fields are for slaves."""

    accepted: bool = True
    master_addr: str | None = None
    ha_server_addr: str | None = None


@dataclass(slots=True)
class TopicPlan:
    """What putting a registration's topics into the topic table changes, worked out from the
    table as it was when `topics_stamp` was `stamp`: valid for that broker name, that decoded
    topic table (by identity) and `wipe_write`, while the stamp stays the same.

    `new`: topics new to the table, each with its one-entry map; `missing`: (topic, its map,
    QueueData) for topics the broker is not in yet; `changed`: the same where the broker's
    QueueData differs (put only when the broker's data version changed).
    """

    broker_name: str
    topics: dict[str, TopicConfig]
    wipe_write: bool
    stamp: int
    new: dict[str, JavaHashMap]
    missing: list[tuple[str, dict[str, QueueData], QueueData]]
    changed: list[tuple[str, dict[str, QueueData], QueueData]]


@dataclass(slots=True)
class ListJob:
    """The work of one topic list, from a snapshot: `run` may be called in another thread; its
    result goes to `RouteTable.finish_topic_list`. `live` jobs read the table itself, so their
    body counts only if nothing changed meanwhile."""

    key: tuple[str, str | None]
    generation: int
    order: OrderJob
    make: Callable[[list], bytes]
    live: bool = False

    def run(self) -> tuple[object, bytes]:
        table, order = self.order.run()
        return table, self.make(order)


@dataclass(slots=True)
class GroupRemoval:
    """The topic table without one broker group's QueueData, built from the table as it was
    when `topics_stamp` was `stamp` (`group_removal_job`): put in the table's place, whole, if
    that group is removed while the stamp is still the same (`offered`)."""

    broker_name: str
    stamp: int
    table: JavaConcurrentHashMap
    removed: int  # QueueData taken out


@dataclass(slots=True, frozen=True)
class ExpiredBroker:
    cluster_name: str
    broker_addr: str
    conn: ConnId | None


class RouteTable:
    """The NameServer's route tables (5.3.3 layout)."""

    def __init__(self) -> None:
        # The Java map types and initial capacities of 5.3.3, whose iteration order answers show.
        #: topic -> brokerName -> QueueData
        self.topic_queue_table: dict[str, dict[str, QueueData]] = JavaConcurrentHashMap(
            initial_capacity=1024
        )
        #: brokerName -> BrokerData (cluster, addresses by broker id, acting-master flag, zone)
        self.broker_addr_table: dict[str, BrokerData] = JavaConcurrentHashMap(initial_capacity=128)
        #: clusterName -> brokerNames
        self.cluster_addr_table: dict[str, set[str]] = JavaConcurrentHashMap(initial_capacity=32)
        # Never iterated into an answer: plain dicts.
        self.broker_live_table: dict[BrokerKey, BrokerLiveInfo] = {}
        self.filter_server_table: dict[BrokerKey, list[str]] = {}
        #: topic -> brokerName -> static-topic mapping (5.x)
        self.topic_queue_mapping_info_table: dict[str, dict[str, TopicQueueMappingInfo]] = (
            JavaConcurrentHashMap(initial_capacity=1024)
        )
        self._route_cache: dict[tuple, bytes] = {}
        self._cluster_info_cache: bytes | None = None
        self._topic_list_cache: dict[tuple[str, str | None], bytes] = {}
        #: QueueData removals so far, and per broker name the topics of its last registration
        #: with that count then: while both hold, none of those topics can be missing.
        self._queue_removals = 0
        self._complete_topics: dict[str, tuple[dict[str, TopicConfig], int]] = {}
        #: broker name -> the topics that have a QueueData of it (never iterated into answers)
        self._broker_topics: dict[str, set[str]] = {}
        #: Changes after every change to the topic table or a QueueData in it (`TopicPlan`).
        self.topics_stamp = 0
        #: Plans given to `register_broker` that were stale, so worked out again there.
        self.stale_plans = 0
        #: Group removals built elsewhere, by broker name, while `offered` holds them.
        self._offers: dict[str, GroupRemoval] = {}
        #: Large objects the table let go of (a replaced topic table): the owner frees them
        #: where that holds up nobody (server.offload.release), then empties this list.
        self.garbage: list[object] = []
        #: Stamp of the last change (nsctl.server.changes): answers made before it are stale.
        self.generation = next_stamp()

    # ------------------------------------------------------------------------------------------
    # Cache

    def _changed(self) -> None:
        self._route_cache.clear()
        self._cluster_info_cache = None
        self._topic_list_cache.clear()
        self.generation = next_stamp()

    def _topics_changed(self) -> None:
        """After (never before) a change to the topic table: a plan begun earlier is stale."""
        self.topics_stamp += 1
        self._changed()

    # ------------------------------------------------------------------------------------------
    # Registration and liveness

    def register_broker(
        self,
        reg: Registration,
        *,
        conn: ConnId | None,
        now: int,
        delete_topic_with_registration: bool = False,
        plan: TopicPlan | None = None,
    ) -> RegisterOutcome:
        """REGISTER_BROKER, following the 5.3.3 steps in order (protocol.md §5.2.2).

        `plan`: what `plan_topics` worked out for this registration beforehand; used if still
        valid, else the topics are worked out here."""
        cluster, addr, name, broker_id = (
            reg.cluster_name,
            reg.broker_addr,
            reg.broker_name,
            reg.broker_id,
        )
        members = self.cluster_addr_table.get(cluster)
        if members is None:
            members = self.cluster_addr_table[cluster] = JavaHashSet()
        if name not in members:
            members.add(name)
            self._changed()

        broker = self.broker_addr_table.get(name)
        first = broker is None
        if broker is None:
            broker = BrokerData(
                cluster=cluster,
                broker_name=name,
                broker_addrs=JavaHashMap(),
                enable_acting_master=False,
            )
            self.broker_addr_table[name] = broker
            self._changed()
        acting = bool(reg.enable_acting_master)
        if broker.enable_acting_master != acting or broker.zone_name != reg.zone_name:
            broker.enable_acting_master = acting
            broker.zone_name = reg.zone_name
            self._changed()

        addrs = broker.broker_addrs
        # A slave promoted to master keeps its address under a new id: drop the old id.
        for stale_id in [i for i, a in addrs.items() if a == addr and i != broker_id]:
            del addrs[stale_id]
            self._changed()

        previous_addr = addrs.get(broker_id)
        if previous_addr is not None and previous_addr != addr:
            old_live = self.broker_live_table.get((cluster, previous_addr))
            if old_live is not None and _state(old_live.data_version) > _state(reg.data_version):
                # The id still belongs to a broker with a newer state: ignore this one.
                self.broker_live_table.pop((cluster, addr), None)
                return RegisterOutcome()

        if broker_id not in addrs and len(reg.topics) == 1:
            # A single-topic registration is incremental and must not be a broker's first one.
            return RegisterOutcome(accepted=False)

        if previous_addr != addr:
            addrs[broker_id] = addr
            self._changed()
        first = first or previous_addr is None

        is_master = broker_id == MASTER_ID
        is_prime_slave = (
            reg.enable_acting_master is not None and not is_master and broker_id == min(addrs)
        )
        if is_master or is_prime_slave:
            version_changed = first or self._data_version_changed(cluster, addr, reg.data_version)
            if delete_topic_with_registration and not reg.topic_queue_mappings:
                self._drop_topics_not_in(name, reg.topics)
            wipe_write = is_prime_slave and broker.enable_acting_master
            self._put_topics(name, reg.topics, version_changed, wipe_write, plan)
            if version_changed and reg.topic_queue_mappings:
                for topic, info in reg.topic_queue_mappings.items():
                    mappings = self.topic_queue_mapping_info_table.get(topic)
                    if mappings is None:
                        mappings = self.topic_queue_mapping_info_table[topic] = JavaHashMap()
                    mappings[info.bname] = info
                self._changed()

        self.broker_live_table[(cluster, addr)] = BrokerLiveInfo(
            last_update=now,
            timeout_ms=reg.timeout_ms or DEFAULT_BROKER_TIMEOUT_MS,
            data_version=reg.data_version,
            conn=conn,
            ha_server_addr=reg.ha_server_addr,
        )
        if reg.filter_servers is not None:
            if reg.filter_servers:
                servers = list(reg.filter_servers)
                if self.filter_server_table.get((cluster, addr)) != servers:
                    self.filter_server_table[(cluster, addr)] = servers
                    self._changed()  # routes carry the filter servers
            elif self.filter_server_table.pop((cluster, addr), None) is not None:
                self._changed()

        outcome = RegisterOutcome()
        if not is_master:
            master_addr = addrs.get(MASTER_ID)
            master_live = self.broker_live_table.get((cluster, master_addr or ""))
            if master_addr is not None and master_live is not None:
                outcome.master_addr = master_addr
                outcome.ha_server_addr = master_live.ha_server_addr
        return outcome

    def _put_topics(
        self,
        broker_name: str,
        topics: dict[str, TopicConfig],
        version_changed: bool,
        wipe_write: bool,
        plan: TopicPlan | None = None,
    ) -> None:
        """Put the QueueData of a registration's topics (all of them when the broker's data
        version changed, else the missing ones); an equal QueueData is left in place."""
        if not version_changed:  # the steady state: a periodic re-registration, nothing to do
            complete = self._complete_topics.get(broker_name)
            if complete and complete[0] is topics and complete[1] == self._queue_removals:
                return  # the same decoded body again, and no QueueData removed since
        if plan is None or not (
            plan.stamp == self.topics_stamp
            and plan.broker_name == broker_name
            and plan.topics is topics
            and plan.wipe_write == wipe_write
        ):
            self.stale_plans += plan is not None
            plan = self.plan_topics(broker_name, topics, wipe_write=wipe_write)
        self._apply_plan(plan, version_changed)

    def plan_topics(
        self,
        broker_name: str,
        topics: dict[str, TopicConfig],
        *,
        wipe_write: bool = False,
        stamp: int | None = None,
    ) -> TopicPlan:
        """What putting `topics` of `broker_name` would change (`TopicPlan`).

        It only reads the table, so it may run in another thread while the loop changes the
        table, given the `topics_stamp` the loop read before handing it over: a change after
        that makes the plan stale, and `register_broker` then works it out again.

        The hot loop of a registration, written for 100,000 topics.
        """
        if stamp is None:
            stamp = self.topics_stamp
        get = self.topic_queue_table.get
        new: dict[str, JavaHashMap] = {}
        missing: list[tuple[str, dict[str, QueueData], QueueData]] = []
        changed: list[tuple[str, dict[str, QueueData], QueueData]] = []
        for topic, config in topics.items():
            perm = config.perm & ~PERM_WRITE if wipe_write else config.perm
            queues = get(topic)
            present = None if queues is None else queues.get(broker_name)
            if present is not None and (
                # QueueData equality spelled out (the broker name is the key): most topics of
                # a re-registration are unchanged, and no QueueData is made for them.
                present.read_queue_nums == config.read_queue_nums
                and present.write_queue_nums == config.write_queue_nums
                and present.perm == perm
                and present.topic_sys_flag == config.topic_sys_flag
            ):
                continue
            queue = QueueData(
                broker_name,
                config.read_queue_nums,
                config.write_queue_nums,
                perm,
                config.topic_sys_flag,
            )
            if queues is None:
                queues = new[topic] = JavaHashMap()
                dict.__setitem__(queues, broker_name, queue)  # one key: no resize to check
            elif present is None:
                missing.append((topic, queues, queue))
            else:
                changed.append((topic, queues, queue))
        return TopicPlan(broker_name, topics, wipe_write, stamp, new, missing, changed)

    def _apply_plan(self, plan: TopicPlan, version_changed: bool) -> None:
        broker_name, topics, new = plan.broker_name, plan.topics, plan.new
        index = self._broker_topics.setdefault(broker_name, set())
        for topic, queues, queue in plan.missing:
            queues[broker_name] = queue  # a new key: the map's capacity may grow
            index.add(topic)
        if version_changed and plan.changed:
            # the key is there: no resize to check, and a C loop
            _, maps, queues = zip(*plan.changed, strict=True)
            deque(map(dict.__setitem__, maps, repeat(broker_name), queues), maxlen=0)
        if new:
            # Java put them in the order of the body's ConcurrentHashMap; that order is worked
            # out only when the table's order is first needed.
            def body_order() -> list[str]:
                order = chm_order(topics)
                # all of them new (a first registration) needs no filtering
                return order if len(order) == len(new) else [t for t in order if t in new]

            self.topic_queue_table.put_new(new, order=None if len(new) == 1 else body_order)
            index.update(new)
        if new or plan.missing or (version_changed and plan.changed):
            self._topics_changed()
        self._complete_topics[broker_name] = (topics, self._queue_removals)

    def _data_version_changed(self, cluster: str, addr: str, version: DataVersion) -> bool:
        live = self.broker_live_table.get((cluster, addr))
        return live is None or live.data_version != version

    def _drop_topics_not_in(self, broker_name: str, kept: dict[str, TopicConfig]) -> None:
        own = self._broker_topics.get(broker_name, set())
        self._remove_queue_datas(broker_name, list(own.difference(kept)))

    def _remove_queue_datas(self, broker_name: str, topics: list[str]) -> None:
        """Remove the broker's QueueData from these topics, each of which has one (they come
        from `_broker_topics`); topics left without any go from the table.

        Written as C-level loops: a broker of 10,000 topics goes in a few milliseconds."""
        if not topics:
            return
        table = self.topic_queue_table
        maps = list(map(table.__getitem__, topics))
        deque(map(methodcaller("pop", broker_name), maps), maxlen=0)
        emptied = list(compress(topics, map(not_, maps)))
        index = self._broker_topics[broker_name]
        index.difference_update(topics)
        if not index:
            del self._broker_topics[broker_name]
        if emptied:
            table.remove_all(emptied)
        self._queue_removals += len(topics)
        self._topics_changed()

    def unregister_broker(
        self, cluster_name: str | None, broker_addr: str | None, broker_name: str | None
    ) -> bool:
        """UNREGISTER_BROKER with 5.3.3 semantics: every id holding `broker_addr` goes.
        Returns whether there was anything to remove (a live entry or an address)."""
        key = (cluster_name or "", broker_addr or "")
        was_live = self.broker_live_table.pop(key, None) is not None
        if self.filter_server_table.pop(key, None) is not None:
            self._changed()
        broker = self.broker_addr_table.get(broker_name or "")
        if broker is None:
            return was_live
        effect = unregister_effect(
            broker.broker_addrs,
            self.cluster_addr_table,
            cluster_name=cluster_name or "",
            broker_name=broker.broker_name,
            broker_addr=broker_addr or "",
        )
        for broker_id in effect.removed_ids:
            del broker.broker_addrs[broker_id]
        if effect.removed:
            self._changed()
        if not broker.broker_addrs:
            self._remove_broker_group(cluster_name, broker.broker_name)
        elif broker.enable_acting_master and min(broker.broker_addrs) > MASTER_ID:
            # The group lost its master: its queues stop accepting writes until one is back.
            self._change_perm(broker.broker_name, lambda perm: perm & ~PERM_WRITE)
        return was_live or effect.removed

    def _remove_broker_group(self, cluster_name: str | None, broker_name: str) -> None:
        del self.broker_addr_table[broker_name]
        self._complete_topics.pop(broker_name, None)
        members = self.cluster_addr_table.get(cluster_name or "")
        if members is not None:
            members.discard(broker_name)
            if not members:
                del self.cluster_addr_table[cluster_name or ""]
        removal = self._offers.pop(broker_name, None)
        if removal is not None and removal.stamp == self.topics_stamp:
            # Built elsewhere from the table as it still is: put in its place, whole.
            self.garbage.append(self.topic_queue_table)
            self.topic_queue_table = removal.table
            index = self._broker_topics.pop(broker_name, None)
            if index:
                self.garbage.append(index)
            self._queue_removals += removal.removed
            self._topics_changed()
        else:
            topics = list(self._broker_topics.get(broker_name, ()))
            self._remove_queue_datas(broker_name, topics)
        self._changed()

    def group_removal_job(
        self, cluster_name: str, broker_addr: str, *, at_least: int = 0
    ) -> Callable[[], GroupRemoval] | None:
        """The work of taking the topics of the broker group at this address out of the
        topic table, to run in another thread (`GroupRemoval`); None when removing the address
        would leave the group (it has other addresses) or the group has fewer topics than
        `at_least`. The result counts only while `offered` and still current."""
        name = self._broker_name_of(cluster_name, broker_addr)
        broker = self.broker_addr_table.get(name or "")
        if name is None or broker is None or set(broker.broker_addrs.values()) != {broker_addr}:
            return None
        topics = list(self._broker_topics.get(name, ()))
        if len(topics) < at_least:
            return None
        table = self.topic_queue_table
        job = table.order_job()  # type: ignore[attr-defined]
        return functools.partial(_without_group, table, job, name, topics, self.topics_stamp)

    @contextmanager
    def offered(self, removals: Iterable[GroupRemoval]) -> Iterator[None]:
        """Within this block, removing one of these groups uses its prepared table."""
        self._offers.update((removal.broker_name, removal) for removal in removals)
        try:
            yield
        finally:
            self._offers.clear()

    def broker_heartbeat(self, cluster_name: str | None, broker_addr: str | None, now: int) -> bool:
        """BROKER_HEARTBEAT: refresh the live entry if there is one."""
        live = self.broker_live_table.get((cluster_name or "", broker_addr or ""))
        if live is None:
            return False
        live.last_update = now
        return True

    def query_data_version(
        self, cluster_name: str, broker_addr: str, version: DataVersion | None, now: int
    ) -> tuple[bool, DataVersion | None]:
        """QUERY_DATA_VERSION (5.3.3): (changed, stored version); the entry is always refreshed."""
        live = self.broker_live_table.get((cluster_name, broker_addr))
        if live is None:
            return True, None
        live.last_update = now
        return version is None or live.data_version != version, live.data_version

    def scan_not_active(self, now: int) -> list[ExpiredBroker]:
        """Remove every broker whose live entry timed out; the caller closes their connections."""
        return [broker for broker in self.expired_brokers(now) if self.expire(broker, now)]

    def expired_brokers(self, now: int) -> list[ExpiredBroker]:
        """The brokers whose live entry timed out (nothing removed yet: see `expire`)."""
        return [
            ExpiredBroker(cluster, addr, live.conn)
            for (cluster, addr), live in self.broker_live_table.items()
            if live.expired(now)
        ]

    def expire(self, broker: ExpiredBroker, now: int) -> bool:
        """Remove one broker of `expired_brokers` if its entry is still the one that timed out."""
        live = self.broker_live_table.get((broker.cluster_name, broker.broker_addr))
        if live is None or live.conn != broker.conn or not live.expired(now):
            return False
        self._unregister_by_address(broker.cluster_name, broker.broker_addr)
        return True

    def connection_closed(self, conn: ConnId) -> list[BrokerKey]:
        """Drop every broker registered on `conn`.

        5.3.3 drops only the first live entry it finds for the connection; a connection that
        carried several registrations (a Python agent playing master and slave) loses all of
        them here, which is what its closing means.
        """
        keys = self.brokers_on(conn)
        for cluster, addr in keys:
            self._unregister_by_address(cluster, addr)
        return keys

    def brokers_on(self, conn: ConnId) -> list[BrokerKey]:
        """The brokers (cluster, address) whose registration lives on `conn`."""
        return [key for key, live in self.broker_live_table.items() if live.conn == conn]

    def topics_on(self, conn: ConnId) -> int | None:
        """How many topics the broker groups registered on `conn` hold; None: no broker."""
        keys = self.brokers_on(conn)
        if not keys:
            return None
        names = {self._broker_name_of(cluster, addr) for cluster, addr in keys}
        return sum(len(self._broker_topics.get(name or "", ())) for name in names)

    def _broker_name_of(self, cluster_name: str, broker_addr: str) -> str | None:
        """The first broker group (in Java's order) of the cluster that holds the address."""
        for broker in self.broker_addr_table.values():
            if broker.cluster == cluster_name and broker_addr in broker.broker_addrs.values():
                return broker.broker_name
        return None

    def _unregister_by_address(self, cluster_name: str, broker_addr: str) -> None:
        broker_name = self._broker_name_of(cluster_name, broker_addr)
        self.unregister_broker(cluster_name, broker_addr, broker_name)

    # ------------------------------------------------------------------------------------------
    # Routes and cluster info

    def topic_route(
        self, topic: str | None, *, order_topic_conf: str | None = None, acting_master=False
    ) -> TopicRouteData | None:
        """The route of `topic`, or None when it has no QueueData with a registered broker."""
        queues = self.topic_queue_table.get(topic or "")
        if not queues:
            return None
        broker_datas = []
        # Java walks a HashSet copy of the topic's broker names and clones each BrokerData.
        for broker_name in hashset_copy_order(queues):
            broker = self.broker_addr_table.get(broker_name)
            if broker is not None:
                broker_datas.append(
                    BrokerData(
                        cluster=broker.cluster,
                        broker_name=broker.broker_name,
                        broker_addrs=JavaHashMap.copy_of(broker.broker_addrs),
                        enable_acting_master=broker.enable_acting_master,
                        zone_name=broker.zone_name,
                    )
                )
        if not broker_datas:
            return None
        route = TopicRouteData(
            queue_datas=[
                QueueData(
                    q.broker_name, q.read_queue_nums, q.write_queue_nums, q.perm, q.topic_sys_flag
                )
                for q in queues.values()
            ],
            broker_datas=broker_datas,
            filter_server_table=self._route_filter_servers(broker_datas),
            order_topic_conf=order_topic_conf,
            topic_queue_mapping_by_broker=self.topic_queue_mapping_info_table.get(topic or ""),
        )
        if acting_master and not (topic or "").startswith(SYNC_BROKER_MEMBER_TOPIC_PREFIX):
            _apply_acting_master(route)
        return route

    def _route_filter_servers(self, brokers: list[BrokerData]) -> dict[str, list[str]]:
        if not self.filter_server_table:
            return {}
        # Java puts every address, with null for those without filter servers (which its JSON
        # leaves out): they take their place in the HashMap all the same.
        result = JavaHashMap()
        for broker in brokers:
            for addr in broker.broker_addrs.values():
                servers = self.filter_server_table.get((broker.cluster, addr))
                result[addr] = None if servers is None else list(servers)
        return {addr: servers for addr, servers in result.items() if servers is not None}

    def encoded_route(
        self,
        topic: str | None,
        *,
        standard_json: bool,
        order_topic_conf: str | None = None,
        acting_master: bool = False,
    ) -> bytes | None:
        """The route body as sent on the wire (cached), or None when the topic has no route.

        Standard JSON is what clients of version >= 4.9.4 get: quoted, sorted keys and
        non-ASCII escaped; older ones get fastjson's bare integer keys.
        """
        key = (topic, standard_json, order_topic_conf, acting_master)
        body = self._route_cache.get(key)
        if body is None:
            route = self.topic_route(
                topic, order_topic_conf=order_topic_conf, acting_master=acting_master
            )
            if route is None:
                return None
            wire = route_wire(route)
            if standard_json:
                text = dialect.dumps(wire, sort_keys=True, ascii_only=True)
            else:
                text = dialect.dumps(wire, bare_int_keys=True)
            body = text.encode("utf-8")
            self._route_cache[key] = body
        return body

    def cluster_info(self) -> dict:
        """ClusterInfo in its wire form (Java names)."""
        return {
            "brokerAddrTable": {name: broker_wire(b) for name, b in self.broker_addr_table.items()},
            "clusterAddrTable": {c: list(names) for c, names in self.cluster_addr_table.items()},
        }

    def encoded_cluster_info(self) -> bytes:
        """GET_BROKER_CLUSTER_INFO body, bare integer keys as Java writes it (cached)."""
        if self._cluster_info_cache is None:
            text = dialect.dumps(self.cluster_info(), bare_int_keys=True)
            self._cluster_info_cache = text.encode("utf-8")
        return self._cluster_info_cache

    def broker_member_group(self, broker_name: str | None) -> dict[int, str]:
        broker = self.broker_addr_table.get(broker_name or "")
        return dict(sorted(broker.broker_addrs.items())) if broker is not None else {}

    # ------------------------------------------------------------------------------------------
    # Topic lists

    # Java collects each list into a new ConcurrentHashMap key set (`TopicList`), so a list's
    # order is that set's after adding the topics in the order Java finds them.

    def all_topics(self) -> list[str]:
        return chm_order(self.topic_queue_table, distinct=True)

    def topics_by_cluster(self, cluster: str | None) -> list[str]:
        return _topics_of(self._member_topics(cluster), list(self.topic_queue_table))

    def _member_topics(self, cluster: str | None) -> list[set[str]]:
        """The topic sets of the cluster's brokers, in the order Java walks the members."""
        members = self.cluster_addr_table.get(cluster or "") or ()
        return [self._broker_topics.get(name, set()) for name in members]

    def system_topics(self) -> tuple[list[str], str | None]:
        """Cluster and broker names (brokers create topics named after them) and the first
        address of the first broker group."""
        topics: list[str] = []
        for cluster, members in self.cluster_addr_table.items():
            topics.append(cluster)
            topics.extend(members)
        broker_addr = None
        for broker in self.broker_addr_table.values():
            if broker.broker_addrs:
                broker_addr = next(iter(broker.broker_addrs.values()))
                break
        return chm_order(topics), broker_addr

    def unit_topics(self, *, unit: bool | None, unit_sub: bool | None) -> list[str]:
        """Topics whose *first* QueueData has the given sys-flag bits (None = don't care)."""
        return _unit_topics(self.topic_queue_table, list(self.topic_queue_table), unit, unit_sub)

    def encoded_topic_list(self, kind: str, cluster: str | None = None) -> bytes:
        """A TopicList body as sent on the wire (cached until the tables change).

        `kind`: "all", "cluster" (of `cluster`), "system", "unit", "unit_sub" or
        "unit_sub_ununit". A list of 100,000 topics takes a quarter of a second to put in Java's
        order, and dashboards poll it: `topic_list_job` does the same work off the loop.
        """
        key = (kind, cluster)
        body = self._topic_list_cache.get(key)
        if body is None:
            broker_addr = None
            if kind == "all":
                topics = self.all_topics()
            elif kind == "cluster":
                topics = self.topics_by_cluster(cluster)
            elif kind == "system":
                topics, broker_addr = self.system_topics()
            elif kind in _UNIT_LISTS:
                unit, unit_sub = _UNIT_LISTS[kind]
                topics = self.unit_topics(unit=unit, unit_sub=unit_sub)
            else:
                raise ValueError(f"no topic list {kind!r}")
            body = self._topic_list_cache[key] = encode_topic_list(topics, broker_addr)
        return body

    def topic_list_job(self, kind: str, cluster: str | None = None) -> ListJob | None:
        """The work of `encoded_topic_list(kind, cluster)` as a `ListJob` to run in another
        thread, or None when there is nothing worth it (the body is cached, or the list is of
        cluster and broker names)."""
        key = (kind, cluster)
        if key in self._topic_list_cache or kind == "system":
            return None
        order = self.topic_queue_table.order_job()
        if kind == "all":
            return ListJob(key, self.generation, order, _list_of_all)
        if kind == "cluster":
            # Copies: the loop changes the sets while the job runs.
            members = [set(topics) for topics in self._member_topics(cluster)]
            return ListJob(key, self.generation, order, functools.partial(_list_of, members))
        if kind in _UNIT_LISTS:
            # Reads the topic table itself: good only if nothing changed before it is taken.
            make = functools.partial(_unit_list_live, self.topic_queue_table, *_UNIT_LISTS[kind])
            return ListJob(key, self.generation, order, make, live=True)
        raise ValueError(f"no topic list {kind!r}")

    def finish_topic_list(self, job: ListJob, result: tuple[object, bytes]) -> bytes | None:
        """Take what `job.run()` gave (on the loop): the body, cached if the tables did not
        change meanwhile; None if the job read the tables and they changed."""
        table, body = result
        self.topic_queue_table.adopt(job.order, table)  # type: ignore[attr-defined]
        if job.generation == self.generation:
            self._topic_list_cache[job.key] = body
        elif job.live:
            return None
        return body

    # ------------------------------------------------------------------------------------------
    # Admin changes

    def wipe_write_perm(self, broker_name: str | None) -> int:
        """Clear the write bit of every QueueData of `broker_name`; the count of topics touched."""
        return self._change_perm(broker_name, lambda perm: perm & ~PERM_WRITE)

    def add_write_perm(self, broker_name: str | None) -> int:
        """Set perm to exactly read|write (other bits dropped, as Java does)."""
        return self._change_perm(broker_name, lambda perm: PERM_READ | PERM_WRITE)

    def _change_perm(self, broker_name: str | None, change: Callable[[int], int]) -> int:
        """Change the perm of every QueueData of `broker_name`; the count of topics it has (a
        perm already as wanted counts, as in Java)."""
        name = broker_name or ""
        table = self.topic_queue_table
        count = changed = 0
        for topic in self._broker_topics.get(name, ()):
            queue = table[topic][name]
            count += 1
            perm = change(queue.perm)
            if perm != queue.perm:
                queue.perm = perm
                changed += 1
        if changed:
            self._topics_changed()
        return count

    def delete_topic(self, topic: str | None, cluster_name: str | None = None) -> None:
        """DELETE_TOPIC_IN_NAMESRV: from one cluster's brokers, or entirely."""
        if topic not in self.topic_queue_table:
            return
        if cluster_name:
            for broker_name in self.cluster_addr_table.get(cluster_name, set()):
                queues = self.topic_queue_table.get(topic)
                if queues is not None and broker_name in queues:
                    self._remove_queue_datas(broker_name, [topic])
        else:
            for broker_name in dict.keys(self.topic_queue_table[topic]):
                index = self._broker_topics[broker_name]
                index.discard(topic)
                if not index:
                    del self._broker_topics[broker_name]
            del self.topic_queue_table[topic]
            self._queue_removals += 1
            self._topics_changed()

    def register_topic(self, topic: str | None, queue_datas: Iterable[QueueData]) -> None:
        """REGISTER_TOPIC_IN_NAMESRV (5.x): queue data for brokers that are already known.

        A new topic is all-or-nothing; an existing one is updated entry by entry up to the
        first unknown broker, as 5.3.3 does.
        """
        queue_datas = list(queue_datas)
        if topic is None or not queue_datas:
            return
        known = self.broker_addr_table
        existing = self.topic_queue_table.get(topic)
        if existing is None:
            if any(q.broker_name not in known for q in queue_datas):
                return
            queues = JavaHashMap()
            for queue in queue_datas:
                queues[queue.broker_name] = queue
                self._broker_topics.setdefault(queue.broker_name, set()).add(topic)
            self.topic_queue_table[topic] = queues
            self._topics_changed()
            return
        for queue in queue_datas:
            if queue.broker_name not in known:
                break
            existing[queue.broker_name] = queue
            self._broker_topics.setdefault(queue.broker_name, set()).add(topic)
            self._topics_changed()


def _without_group(
    table: JavaConcurrentHashMap,
    job: OrderJob,
    broker_name: str,
    topics: list[str],
    stamp: int,
) -> GroupRemoval:
    """In another thread: `table` without the QueueData of `broker_name` in `topics` (all it
    has). Topics left empty go; the others get a copy of their map without it. Reads `table`
    while the loop may change it: the loop uses the result only if `stamp` still holds."""
    maps = [table[topic] for topic in topics]
    emptied = [topic for topic, queues in zip(topics, maps, strict=True) if len(queues) == 1]
    built = table.without(emptied, job)
    for topic, queues in zip(topics, maps, strict=True):
        if len(queues) > 1:
            kept = queues.clone()  # type: ignore[attr-defined]
            dict.__delitem__(kept, broker_name)
            dict.__setitem__(built, topic, kept)
    return GroupRemoval(broker_name, stamp, built, len(topics))


# Topic lists from a table's order, shared by the loop and the worker.


def _topics_of(member_topics: list[set[str]], order: list[str]) -> list[str]:
    """Java's walk: for each member broker, the topics (in table order) it has a QueueData in."""
    return chm_order(t for topics in member_topics for t in filter(topics.__contains__, order))


def _unit_topics(
    table: dict[str, dict[str, QueueData]],
    order: list[str],
    unit: bool | None,
    unit_sub: bool | None,
) -> list[str]:
    result = []
    for topic in order:
        first = next(iter(table[topic].values()), None)
        if first is None:
            continue
        flags = first.topic_sys_flag
        if unit is not None and bool(flags & FLAG_UNIT) != unit:
            continue
        if unit_sub is not None and bool(flags & FLAG_UNIT_SUB) != unit_sub:
            continue
        result.append(topic)
    return chm_order(result)


def _list_of_all(order: list[str]) -> bytes:
    return encode_topic_list(chm_order(order, distinct=True))


def _list_of(member_topics: list[set[str]], order: list[str]) -> bytes:
    return encode_topic_list(_topics_of(member_topics, order))


def _unit_list_live(
    table: dict[str, dict[str, QueueData]], unit: bool | None, unit_sub: bool | None, order: list
) -> bytes:
    return encode_topic_list(_unit_topics(table, order, unit, unit_sub))


def encode_topic_list(topics: list[str], broker_addr: str | None = None) -> bytes:
    """`TopicList(topics, broker_addr).encode()`, the list made a piece at a time
    (`dialect.dumps_in_pieces`) so that a worker thread making it lets the event loop in."""
    empty = TopicList([], broker_addr).encode()  # ...,"topicList":[]} : the list comes last
    return b"%s%s}" % (empty[:-3], dialect.dumps_in_pieces(topics).encode("utf-8"))


#: The unit-topic lists: (unit flag, unit-sub flag) wanted; None = either.
_UNIT_LISTS: dict[str, tuple[bool | None, bool | None]] = {
    "unit": (True, None),
    "unit_sub": (None, True),
    "unit_sub_ununit": (False, True),
}


def _state(version: DataVersion) -> int:
    return version.state_version or 0


def _apply_acting_master(route: TopicRouteData) -> None:
    """Show the smallest-id slave as id 0 for master-less acting-master groups whose queues are
    read-only, so that clients find a broker to talk to (5.3.3 `supportActingMaster`)."""
    if not any(b.broker_addrs and MASTER_ID not in b.broker_addrs for b in route.broker_datas):
        return
    for broker in route.broker_datas:
        addrs = broker.broker_addrs
        if not addrs or MASTER_ID in addrs or not broker.enable_acting_master:
            continue
        queue = route.queue_data(broker.broker_name)
        if queue is not None and not queue.writable:
            addrs[MASTER_ID] = addrs.pop(min(addrs))


def broker_wire(broker: BrokerData) -> dict:
    """A BrokerData's wire form with its addresses in its map's order (fastjson's), not sorted."""
    wire = broker.to_wire()
    wire["brokerAddrs"] = dict(broker.broker_addrs.items())
    return wire


def route_wire(route: TopicRouteData) -> dict:
    """A route's wire form with every map in the order Java writes it."""
    wire = route.to_wire()
    wire["brokerDatas"] = [broker_wire(b) for b in route.broker_datas]
    return wire
