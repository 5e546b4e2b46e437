"""Request code -> handler. Each handler turns a request into its response, as 5.3.3 answers.

Codes, remarks and ext fields follow protocol.md §5 and the 5.3.3 captures. Deliberate
differences from Java 5.3.3: a response uses its request's header serialization (design.md; Java
5.3.3 always answers in its own default), UNREGISTER_BROKER is applied before the answer
instead of through a queue, and admin requests (`ADMIN_CODES`: they change state and are not
broker traffic) are served only to peers in `config.admin_allow`, loopback by default; Java
serves them to anyone who can connect.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import inspect
import ipaddress
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager

from nsctl.protocol import dialect
from nsctl.protocol.codes import (
    MASTER_ID,
    ORDER_TOPIC_CONFIG_NAMESPACE,
    RequestCode,
    ResponseCode,
    SerializeType,
    Version,
)
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.headers import (
    ZONE_MODE_EXT,
    ZONE_NAME_EXT,
    BrokerHeartbeatRequestHeader,
    DeleteKVConfigRequestHeader,
    DeleteTopicFromNamesrvRequestHeader,
    GetBrokerMemberGroupRequestHeader,
    GetKVConfigRequestHeader,
    GetKVListByNamespaceRequestHeader,
    PutKVConfigRequestHeader,
    QueryDataVersionRequestHeader,
    RegisterBrokerRequestHeader,
    RegisterTopicRequestHeader,
    UnRegisterBrokerRequestHeader,
    java_ext,
)
from nsctl.protocol.models import BrokerMemberGroup, KVTable, TopicRouteData
from nsctl.protocol.properties import parse_properties
from nsctl.protocol.register import DataVersion, RegisterBrokerBody, body_crc32
from nsctl.server.config import BLACK_LIST_REMARK, NamesrvConfig
from nsctl.server.events import event
from nsctl.server.kvstore import KVStore
from nsctl.server.offload import Worker, release
from nsctl.server.route_table import (
    GroupRemoval,
    ListJob,
    Registration,
    RouteTable,
    TopicPlan,
    route_wire,
)
from nsctl.server.stats import ServerStats

log = logging.getLogger(__name__)

#: What the server puts in `version`: it behaves as a 5.3.3 NameServer.
SERVER_VERSION = int(Version.V5_3_3)
FAQ_SUFFIX = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."

#: Register bodies from this size on (a compressed one of 1,000 topics) are remembered
#: (`RegisterBodyCache`) and registered with the garbage collector paused.
SMALL_BODY = 16 * 1024
#: How often a topic list that read changing tables is made again in the worker.
LIVE_LIST_TRIES = 3

SUCCESS = ResponseCode.SUCCESS
SYSTEM_ERROR = ResponseCode.SYSTEM_ERROR

#: What a handler gives: the answer, or an awaitable of it (work done elsewhere first).
Answer = RemotingCommand | Awaitable[RemotingCommand | None]
Handler = Callable[[RemotingCommand, Hashable], Answer]

#: Requests that change state and are not broker traffic: served only to `admin_allow` peers.
ADMIN_CODES = frozenset(
    {
        RequestCode.PUT_KV_CONFIG,
        RequestCode.DELETE_KV_CONFIG,
        RequestCode.WIPE_WRITE_PERM_OF_BROKER,
        RequestCode.ADD_WRITE_PERM_OF_BROKER,
        RequestCode.DELETE_TOPIC_IN_NAMESRV,
        RequestCode.UPDATE_NAMESRV_CONFIG,
    }
)


#: What brokers write into the NameServer's tables (QUERY_DATA_VERSION renews a broker's
#: liveness): served only to `broker_allow` peers, and with `broker_ca`, only over TLS from a
#: peer whose certificate that CA verified.
BROKER_WRITE_CODES = frozenset(
    {
        RequestCode.REGISTER_BROKER,
        RequestCode.UNREGISTER_BROKER,
        RequestCode.BROKER_HEARTBEAT,
        RequestCode.QUERY_DATA_VERSION,
        RequestCode.REGISTER_TOPIC_IN_NAMESRV,
    }
)
_GUARDED_CODES = ADMIN_CODES | BROKER_WRITE_CODES

#: A refused broker write is logged at most once per this many seconds for the same source,
#: code and claimed broker (a rogue broker retries every few seconds).
REFUSAL_LOG_INTERVAL = 10.0


def monotonic_ms() -> int:
    """Liveness clock: monotonic, so a wall-clock jump never expires every broker at once."""
    return time.monotonic_ns() // 1_000_000


def _reply(
    request: RemotingCommand,
    code: int = SUCCESS,
    remark: str | None = None,
    *,
    ext: dict[str, str] | None = None,
    body: bytes | None = None,
) -> RemotingCommand:
    return request.make_response(code, remark, ext_fields=ext, body=body, version=SERVER_VERSION)


class Dispatcher:
    """Holds the server state (route table, KV store, config) and answers requests."""

    def __init__(
        self,
        table: RouteTable,
        kv: KVStore,
        config: NamesrvConfig,
        *,
        clock: Callable[[], int] = monotonic_ms,
    ) -> None:
        self.table = table
        self.kv = kv
        self.config = config
        self.clock = clock
        self.started_ms = clock()
        #: Counters (the NameServer puts its own here, shared with its connections).
        self.stats = ServerStats()
        #: conn -> whether its peer gave a certificate `config.broker_ca` verified (the
        #: NameServer sets it; in-process callers have no connection and are trusted).
        self.peer_verified: Callable[[Hashable], bool] = lambda conn: False
        self._refusals_logged: dict[tuple, float] = {}
        self._register_bodies = RegisterBodyCache(table.broker_live_table)
        #: Where work that grows with the tables runs (the NameServer sets one); None: here.
        self.worker: Worker | None = None
        #: Topic-list jobs running, by list and state generation: one job answers them all.
        self._list_runs: dict[tuple, tuple[ListJob, asyncio.Future]] = {}
        C = RequestCode
        self._handlers: dict[int, Handler] = {
            C.PUT_KV_CONFIG: self.put_kv_config,
            C.GET_KV_CONFIG: self.get_kv_config,
            C.DELETE_KV_CONFIG: self.delete_kv_config,
            C.GET_KVLIST_BY_NAMESPACE: self.get_kv_list,
            C.REGISTER_BROKER: self.register_broker,
            C.UNREGISTER_BROKER: self.unregister_broker,
            C.QUERY_DATA_VERSION: self.query_data_version,
            C.BROKER_HEARTBEAT: self.broker_heartbeat,
            C.GET_ROUTEINFO_BY_TOPIC: self.get_route,
            C.GET_BROKER_CLUSTER_INFO: self.get_cluster_info,
            C.GET_BROKER_MEMBER_GROUP: self.get_broker_member_group,
            C.WIPE_WRITE_PERM_OF_BROKER: self.wipe_write_perm,
            C.ADD_WRITE_PERM_OF_BROKER: self.add_write_perm,
            C.GET_ALL_TOPIC_LIST_FROM_NAMESERVER: self.get_all_topics,
            C.GET_TOPICS_BY_CLUSTER: self.get_topics_by_cluster,
            C.GET_SYSTEM_TOPIC_LIST_FROM_NS: self.get_system_topics,
            C.GET_UNIT_TOPIC_LIST: self.get_unit_topics,
            C.GET_HAS_UNIT_SUB_TOPIC_LIST: self.get_unit_sub_topics,
            C.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: self.get_unit_sub_ununit_topics,
            C.DELETE_TOPIC_IN_NAMESRV: self.delete_topic,
            C.REGISTER_TOPIC_IN_NAMESRV: self.register_topic,
            C.UPDATE_NAMESRV_CONFIG: self.update_config,
            C.GET_NAMESRV_CONFIG: self.get_config,
        }

    def handle(
        self, request: RemotingCommand, conn: Hashable, peer_host: str | None = None
    ) -> RemotingCommand | None:
        """The response to send, or None (one-way requests, stray responses).

        `peer_host` is the IP address the request came from; None means an in-process caller,
        which is trusted with admin requests.
        """
        if request.is_response:
            log.warning("dropping a response frame (code %s) sent to the server", request.code)
            return None
        handler = self._handlers.get(request.code)
        try:
            refusal = None
            if request.code in _GUARDED_CODES and peer_host is not None:
                if request.code in ADMIN_CODES:
                    if not self.admin_allowed(peer_host):
                        refusal = self._refuse_admin(request, peer_host)
                else:
                    refusal = self._check_broker_write(request, conn, peer_host)
            if refusal is not None:
                response = refusal
            elif handler is None:
                response = _reply(
                    request,
                    ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
                    f" request type {request.code} not supported",
                )
            else:
                response = handler(request, conn)
        except Exception as exc:  # a bad request must never take the server down
            response = _failed(request, exc)
        if inspect.isawaitable(response):
            return _guarded(request, response)
        return None if request.is_oneway else response

    def state_generation(self) -> int:
        """Changes whenever an answer may change: the stamp of the newest change to the route
        table, the KV store (ORDER_TOPIC_CONFIG is part of route answers) or the settings."""
        return max(self.table.generation, self.kv.generation, self.config.generation)

    def answers_settled(self) -> bool:
        """Whether answers depend on the state alone, not on the time: not while the server
        still waits for brokers after start-up (needWaitForService)."""
        return not self.config.flag("needWaitForService") or self._service_ready()

    def admin_allowed(self, peer_host: str) -> bool:
        return _address_in(peer_host, self.config.admin_allow)

    def _check_broker_write(
        self, request: RemotingCommand, conn: Hashable, peer_host: str
    ) -> RemotingCommand | None:
        """None when the broker-side write may be served, else the NO_PERMISSION answer."""
        config = self.config
        why = None
        if config.broker_allow is not None and not _address_in(peer_host, config.broker_allow):
            allowed = ", ".join(_show_network(n) for n in config.broker_allow) or "nowhere"
            why = f"allowed from {allowed} (nsctl serve --broker-allow)"
        elif config.broker_ca is not None and not self.peer_verified(conn):
            why = "needs a TLS client certificate (nsctl serve --broker-require-cert)"
        if why is None:
            return None
        name = RequestCode(request.code).name
        self.stats.bump(self.stats.broker_refusals, request.code)
        ext = java_ext(request)
        claimed = {
            "broker_name": ext.get("brokerName"),
            "broker_addr": ext.get("brokerAddr"),
            "cluster": ext.get("clusterName"),
        }
        if request.code == RequestCode.REGISTER_TOPIC_IN_NAMESRV:
            claimed["topic"] = ext.get("topic")
        key = (peer_host, request.code, claimed["broker_name"], claimed["broker_addr"])
        now = time.monotonic()
        logged = self._refusals_logged
        if logged.get(key, float("-inf")) <= now:
            if len(logged) >= 4096:
                logged.clear()
            logged[key] = now + REFUSAL_LOG_INTERVAL
            # What a peer claims is shown escaped: a line break must not forge a log line.
            shown = ", ".join(f"{k} {_printable(_java(v))}" for k, v in claimed.items())
            log.warning(
                "broker write %s refused for %s (claimed %s): %s",
                name,
                peer_host,
                shown,
                why,
                extra=event("broker.write_refused", source=peer_host, code=name, **claimed),
            )
        return _reply(request, ResponseCode.NO_PERMISSION, f"{name} refused for {peer_host}: {why}")

    def _refuse_admin(self, request: RemotingCommand, peer_host: str) -> RemotingCommand:
        allowed = ", ".join(_show_network(n) for n in self.config.admin_allow) or "nowhere"
        remark = (
            f"admin request {RequestCode(request.code).name} refused for {peer_host}: "
            f"allowed from {allowed} (nsctl serve --admin-allow)"
        )
        log.warning(
            "%s",
            remark,
            extra=event(
                "admin.write_refused", source=peer_host, code=RequestCode(request.code).name
            ),
        )
        return _reply(request, ResponseCode.NO_PERMISSION, remark)

    def connection_closed(self, conn: Hashable) -> None:
        for cluster, addr in self.table.connection_closed(conn):
            self._register_bodies.forget(cluster, addr)
            self.stats.bump(self.stats.broker_removals, "connection_closed")
            log.info(
                "broker %s (%s) removed: its connection closed",
                addr,
                cluster,
                extra=event(
                    "broker.unregistered",
                    reason="connection_closed",
                    broker_addr=addr,
                    cluster=cluster,
                ),
            )

    # ------------------------------------------------------------------------------------------
    # KV config

    def put_kv_config(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = PutKVConfigRequestHeader.from_request(request)
        if h.namespace is None or h.key is None:
            return _reply(request, SYSTEM_ERROR, "namespace or key is null")
        self.kv.put(h.namespace, h.key, h.value, persist=self.worker is None)
        log.info(
            "KV %s/%s set (%d characters)",
            h.namespace,
            h.key,
            len(h.value or ""),
            extra=event("kv.changed", op="put", namespace=h.namespace, key=h.key),
        )
        return self._kv_written(request)

    def get_kv_config(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = GetKVConfigRequestHeader.from_request(request)
        # A missing namespace or key finds nothing (Java looks up null); "" is a name like any.
        missing = h.namespace is None or h.key is None
        value = None if missing else self.kv.get(h.namespace, h.key)
        if value is None:
            remark = f"No config item, Namespace: {_java(h.namespace)} Key: {_java(h.key)}"
            return _reply(request, ResponseCode.QUERY_NOT_FOUND, remark, ext={})
        return _reply(request, ext={"value": value})

    def delete_kv_config(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = DeleteKVConfigRequestHeader.from_request(request)
        if h.namespace is None or h.key is None:
            return _reply(request, SYSTEM_ERROR, "namespace or key is null")
        self.kv.delete(h.namespace, h.key, persist=self.worker is None)
        log.info(
            "KV %s/%s deleted",
            h.namespace,
            h.key,
            extra=event("kv.changed", op="delete", namespace=h.namespace, key=h.key),
        )
        return self._kv_written(request)

    def _kv_written(self, request: RemotingCommand) -> Answer:
        """SUCCESS once the KV file holds the change: written here already, or, with a worker,
        written there (all KV writes then go through it, so the files land in order) and
        answered when that is done."""
        if self.worker is None:
            return _reply(request)
        written = self.worker.run(self.kv.write_job())
        self.stats.bump(self.stats.offloaded, "kv_write")

        async def answer() -> RemotingCommand:
            await written
            return _reply(request)

        return answer()

    def get_kv_list(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = GetKVListByNamespaceRequestHeader.from_request(request)
        entries = None if h.namespace is None else self.kv.namespace(h.namespace)
        if entries is None:
            remark = f"No config item, Namespace: {_java(h.namespace)}"
            return _reply(request, ResponseCode.QUERY_NOT_FOUND, remark)
        return _reply(request, body=KVTable(entries).encode())

    # ------------------------------------------------------------------------------------------
    # Brokers

    def register_broker(
        self, request: RemotingCommand, conn: Hashable
    ) -> RemotingCommand | Awaitable[RemotingCommand]:
        h = RegisterBrokerRequestHeader.from_request(request)
        if h.body_crc32 and body_crc32(request.body) != h.body_crc32:
            return _reply(request, SYSTEM_ERROR, "crc32 not match", ext={})
        size = len(request.body or b"")
        if self.worker is not None and _reaches(size, self.config.offload_min_body):
            return self._register_later(request, h, conn)
        if size < SMALL_BODY:
            return self._register(request, h, conn)
        with _COLLECTOR.held():  # not frozen: without a worker, no loop to keep short
            return self._register(request, h, conn)

    async def _register_later(
        self, request: RemotingCommand, h: RegisterBrokerRequestHeader, conn: Hashable
    ) -> RemotingCommand:
        """A large registration: decoded, and its topics planned, by the worker; applied here
        at once (the plan is worked out again here if a topic changed meanwhile)."""
        assert self.worker is not None
        self.stats.bump(self.stats.offloaded, "registration")
        with _COLLECTOR.held() as hold:
            stamp = self.table.topics_stamp  # read here: no change is half done on the loop
            known = self._register_bodies.known(h)
            body, plan = await self.worker.run(self._decode_and_plan, request, h, known, stamp)
            hold.freeze = body is not known  # a body decoded afresh: objects that stay
            return self._register(request, h, conn, body=body, plan=plan)

    def _decode_and_plan(
        self,
        request: RemotingCommand,
        h: RegisterBrokerRequestHeader,
        known: RegisterBrokerBody | None,
        stamp: int,
    ) -> tuple[RegisterBrokerBody, TopicPlan | None]:
        """In the worker: decode the body (`known` is the broker's last one) and plan its
        topics for a master or a possible acting master (others put no topics)."""
        body = self._register_bodies.decode(request, h, yielding=True)
        plan = None
        # The same body again (the 30 s renewal) usually changes nothing: no plan for it.
        if body is not known and (
            h.broker_name is not None
            and (h.broker_id == MASTER_ID or h.enable_acting_master is not None)
        ):
            topics = body.topic_config_serialize_wrapper.topic_config_table
            plan = self.table.plan_topics(h.broker_name, topics, stamp=stamp)
        return body, plan

    def _register(
        self,
        request: RemotingCommand,
        h: RegisterBrokerRequestHeader,
        conn: Hashable,
        *,
        body: RegisterBrokerBody | None = None,
        plan: TopicPlan | None = None,
    ) -> RemotingCommand:
        # A body that cannot be read raises: SYSTEM_ERROR without header, as Java answers.
        if body is None:
            body = self._register_bodies.decode(request, h)
        if h.cluster_name is None or h.broker_name is None or h.broker_addr is None:
            # 5.3.3 swallows the resulting exception and answers SUCCESS having registered nothing.
            log.warning("REGISTER_BROKER without clusterName/brokerName/brokerAddr: ignored")
            return self._register_reply(request, {})
        if h.broker_id is None:
            log.warning("REGISTER_BROKER from %s without brokerId: ignored", h.broker_addr)
            return self._register_reply(request, {})
        wrapper = body.topic_config_serialize_wrapper
        registration = Registration(
            cluster_name=h.cluster_name,
            broker_addr=h.broker_addr,
            broker_name=h.broker_name,
            broker_id=h.broker_id,
            ha_server_addr=h.ha_server_addr,
            topics=wrapper.topic_config_table,
            data_version=wrapper.data_version,
            filter_servers=body.filter_server_list,
            topic_queue_mappings=wrapper.topic_queue_mapping_info_map,
            timeout_ms=h.heartbeat_timeout_millis or self.config.broker_expire_ms,
            enable_acting_master=h.enable_acting_master,
            zone_name=h.zone_name,
        )
        known = (h.cluster_name, h.broker_addr) in self.table.broker_live_table
        outcome = self.table.register_broker(
            registration,
            conn=conn,
            now=self.clock(),
            delete_topic_with_registration=self.config.flag("deleteTopicWithBrokerRegistration"),
            plan=plan,
        )
        if not outcome.accepted:
            return _reply(request, SYSTEM_ERROR, "register broker failed", ext={})
        self.stats.broker_registrations += 1
        if not known and (h.cluster_name, h.broker_addr) in self.table.broker_live_table:
            log.info(
                "broker %s (%s/%s, id %d) registered with %d topics",
                h.broker_addr,
                h.cluster_name,
                h.broker_name,
                h.broker_id,
                len(wrapper.topic_config_table),
                extra=event(
                    "broker.registered",
                    broker_addr=h.broker_addr,
                    cluster=h.cluster_name,
                    broker_name=h.broker_name,
                    broker_id=h.broker_id,
                    topics=len(wrapper.topic_config_table),
                ),
            )
        ext = {}
        if outcome.ha_server_addr is not None:
            ext["haServerAddr"] = outcome.ha_server_addr
        if outcome.master_addr is not None:
            ext["masterAddr"] = outcome.master_addr
        return self._register_reply(request, ext)

    def _register_reply(self, request: RemotingCommand, ext: dict[str, str]) -> RemotingCommand:
        body = None
        if self.config.flag("returnOrderTopicConfigToBroker"):
            order = self.kv.namespace(ORDER_TOPIC_CONFIG_NAMESPACE)
            if order is not None:
                body = KVTable(order).encode()
        return _reply(request, ext=ext, body=body)

    def unregister_broker(self, request: RemotingCommand, conn: Hashable) -> Answer:
        h = UnRegisterBrokerRequestHeader.from_request(request)
        key = (h.cluster_name or "", h.broker_addr or "")
        if self._removal_job(key) is not None:
            return self._unregister_later(request, h, key)
        return self._unregister(request, h)

    async def _unregister_later(
        self, request: RemotingCommand, h: UnRegisterBrokerRequestHeader, key: tuple[str, str]
    ) -> RemotingCommand:
        """A broker group with many topics: its topic table is built without them by the
        worker, then put in place at once (see `removing`)."""
        async with self.removing([key]):
            return self._unregister(request, h)

    def _unregister(
        self, request: RemotingCommand, h: UnRegisterBrokerRequestHeader
    ) -> RemotingCommand:
        # Answered SUCCESS either way, as 5.3.3 does (it queues the request and answers at once).
        if self.table.unregister_broker(h.cluster_name, h.broker_addr, h.broker_name):
            self.stats.bump(self.stats.broker_removals, "unregistered")
            log.info(
                "broker %s (%s/%s) unregistered",
                h.broker_addr,
                h.cluster_name,
                h.broker_name,
                extra=event(
                    "broker.unregistered",
                    reason="request",
                    broker_addr=h.broker_addr,
                    cluster=h.cluster_name,
                    broker_name=h.broker_name,
                ),
            )
        else:
            log.info(
                "UNREGISTER_BROKER for %s (%s/%s): no such broker registered, nothing removed",
                h.broker_addr,
                h.cluster_name,
                h.broker_name,
            )
        return _reply(request)

    def query_data_version(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = QueryDataVersionRequestHeader.from_request(request)
        if h.cluster_name is None or h.broker_addr is None:
            # Java fails on the null key; so do we, with a readable remark.
            return _reply(request, SYSTEM_ERROR, "clusterName or brokerAddr is null")
        version = DataVersion.decode(request.body) if request.body else None
        changed, stored = self.table.query_data_version(
            h.cluster_name, h.broker_addr, version, self.clock()
        )
        body = None
        if stored is not None:
            # 5.3.3 always writes stateVersion, even for a 4.x broker's version.
            body = DataVersion(stored.counter, stored.timestamp, stored.state_version or 0).encode()
        return _reply(request, ext={"changed": "true" if changed else "false"}, body=body)

    def broker_heartbeat(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = BrokerHeartbeatRequestHeader.from_request(request)
        self.table.broker_heartbeat(h.cluster_name, h.broker_addr, self.clock())
        return _reply(request)

    def get_broker_member_group(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = GetBrokerMemberGroupRequestHeader.from_request(request)
        group = BrokerMemberGroup(
            cluster=h.cluster_name,
            broker_name=h.broker_name,
            broker_addrs=self.table.broker_member_group(h.broker_name),
        )
        # 5.3.3 leaves its placeholder remark on this success.
        return _reply(request, remark="not set any response code", body=group.encode())

    def wipe_write_perm(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        count = self.table.wipe_write_perm(_ext(request, "brokerName"))
        return _reply(request, ext={"wipeTopicCount": str(count)})

    def add_write_perm(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        count = self.table.add_write_perm(_ext(request, "brokerName"))
        return _reply(request, ext={"addTopicCount": str(count)})

    # ------------------------------------------------------------------------------------------
    # Routes

    def get_route(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        # The hot path: read the ext fields directly rather than through a header object.
        ext = request.ext_fields or {}
        topic = ext.get("topic")
        if topic == "" and request.serialize_type == SerializeType.ROCKETMQ:
            topic = None  # what Java reads for a zero-length value (headers.java_ext)
        config = self.config
        if config.flag("needWaitForService") and not self._service_ready():
            return _reply(request, SYSTEM_ERROR, "name server not ready")
        order_conf = None
        if config.flag("orderMessageEnable") and topic is not None:
            order_conf = self.kv.get(ORDER_TOPIC_CONFIG_NAMESPACE, topic)
        acting = config.flag("supportActingMaster")
        zone = _zone_filter(ext)
        if zone is not None:
            return self._zone_route(request, topic, zone, order_conf, acting)
        standard = (
            request.version >= Version.V4_9_4
            or ext.get("acceptStandardJsonOnly", "").lower() == "true"
        )
        body = self.table.encoded_route(
            topic, standard_json=standard, order_topic_conf=order_conf, acting_master=acting
        )
        if body is None:
            return _route_not_found(request, topic)
        return _reply(request, body=body)

    def _service_ready(self) -> bool:
        waited = self.clock() - self.started_ms
        return waited >= self.config.number("waitSecondsForService") * 1000

    def _zone_route(
        self,
        request: RemotingCommand,
        topic: str | None,
        zone: str,
        order_conf: str | None,
        acting: bool,
    ) -> RemotingCommand:
        """5.3.3 zone mode: keep master-less groups and groups of the client's zone, and answer
        in fastjson's bare-key form whatever the client's version."""
        route = self.table.topic_route(topic, order_topic_conf=order_conf, acting_master=acting)
        if route is None:
            return _route_not_found(request, topic)
        kept = [
            b
            for b in route.broker_datas
            if 0 not in b.broker_addrs or (b.zone_name or "").lower() == zone.lower()
        ]
        kept_names = {b.broker_name for b in kept}
        dropped_addrs = {
            a
            for b in route.broker_datas
            if b.broker_name not in kept_names
            for a in b.broker_addrs.values()
        }
        route.broker_datas = kept
        route.queue_datas = [q for q in route.queue_datas if q.broker_name in kept_names]
        route.filter_server_table = {
            a: s for a, s in route.filter_server_table.items() if a not in dropped_addrs
        }
        body = dialect.dumps(route_wire(route), bare_int_keys=True).encode("utf-8")
        return _reply(request, body=body)

    # ------------------------------------------------------------------------------------------
    # Removing large broker groups

    def _removal_job(self, key: tuple[str, str]) -> Callable[[], GroupRemoval] | None:
        threshold = self.config.offload_min_topics
        if self.worker is None or threshold is None:
            return None
        return self.table.group_removal_job(*key, at_least=threshold)

    @asynccontextmanager
    async def removing(self, keys: list[tuple[str, str]]) -> AsyncIterator[None]:
        """Around removing these brokers (cluster, address): for those whose groups would go
        with them and hold many topics, the topic table without them is built by the worker
        first and offered to the table (`RouteTable.offered`); what the table lets go of is
        freed by the worker afterwards."""
        removals = await self._prepare_removals(keys)
        with self.table.offered(removals):
            yield
        self._let_go()

    async def _prepare_removals(self, keys: list[tuple[str, str]]) -> list[GroupRemoval]:
        removals = []
        for key in keys:
            job = self._removal_job(key)
            if job is None:
                continue
            assert self.worker is not None
            self.stats.bump(self.stats.offloaded, "broker_removal")
            try:
                removals.append(await self.worker.run(job))
            except Exception:  # it read a table that changed under it: removed here instead
                log.debug("a broker removal built off the loop failed", exc_info=True)
        return removals

    def _let_go(self) -> None:
        """Free what the table let go of (a replaced topic table) in the worker, a piece at a
        time."""
        if self.table.garbage:
            garbage, self.table.garbage = self.table.garbage, []
            if self.worker is not None:
                self.worker.run_and_forget(release, garbage)

    def get_cluster_info(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        return _reply(request, body=self.table.encoded_cluster_info())

    # ------------------------------------------------------------------------------------------
    # Topics

    def get_all_topics(self, request: RemotingCommand, conn: Hashable) -> Answer:
        if not self.config.flag("enableAllTopicList"):
            return _reply(request, SYSTEM_ERROR, "disable")
        return self._topic_list(request, "all")

    def get_topics_by_cluster(self, request: RemotingCommand, conn: Hashable) -> Answer:
        if not self.config.flag("enableTopicList"):
            return _reply(request, SYSTEM_ERROR, "disable")
        return self._topic_list(request, "cluster", _ext(request, "cluster"))

    def get_system_topics(self, request: RemotingCommand, conn: Hashable) -> Answer:
        return self._topic_list(request, "system")

    def get_unit_topics(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        return self._unit_list(request, "unit")

    def get_unit_sub_topics(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        return self._unit_list(request, "unit_sub")

    def get_unit_sub_ununit_topics(
        self, request: RemotingCommand, conn: Hashable
    ) -> RemotingCommand:
        return self._unit_list(request, "unit_sub_ununit")

    def _unit_list(self, request: RemotingCommand, kind: str) -> Answer:
        if not self.config.flag("enableTopicList"):
            return _reply(request, SYSTEM_ERROR, "disable")
        return self._topic_list(request, kind)

    def _topic_list(
        self, request: RemotingCommand, kind: str, cluster: str | None = None
    ) -> Answer:
        """A topic list: made here when it is cached or small, else by the worker."""
        job = None
        if self.worker is not None and _reaches(
            len(self.table.topic_queue_table), self.config.offload_min_topics
        ):
            job = self.table.topic_list_job(kind, cluster)
        if job is None:
            return _reply(request, body=self.table.encoded_topic_list(kind, cluster))
        return self._topic_list_later(request, job)

    async def _topic_list_later(self, request: RemotingCommand, job: ListJob) -> RemotingCommand:
        # A job that reads the tables themselves (`live`) may find them changed: it is run
        # again a few times, then the list is made here.
        for _ in range(LIVE_LIST_TRIES):
            job, running = self._list_run(job)
            try:
                result = await asyncio.shield(running)
            except Exception:
                if not job.live:
                    raise
                result = None  # it read the tables while they changed
            body = None if result is None else self.table.finish_topic_list(job, result)
            if body is not None:
                return _reply(request, body=body)
            self.stats.lists_redone += 1
            retry = self.table.topic_list_job(*job.key)
            if retry is None:
                break
            job = retry
        return _reply(request, body=self.table.encoded_topic_list(*job.key))

    def _list_run(self, job: ListJob) -> tuple[ListJob, asyncio.Future]:
        """The run of this list in this state: one already under way, or a new one."""
        assert self.worker is not None
        key = (job.key, job.generation)
        running = self._list_runs.get(key)
        if running is not None:
            return running
        future = self.worker.run(job.run)
        self.stats.bump(self.stats.offloaded, "topic_list")
        self._list_runs[key] = (job, future)
        future.add_done_callback(lambda _: self._list_runs.pop(key, None))
        return job, future

    def delete_topic(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = DeleteTopicFromNamesrvRequestHeader.from_request(request)
        self.table.delete_topic(h.topic, h.cluster_name)
        return _reply(request)

    def register_topic(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        h = RegisterTopicRequestHeader.from_request(request)
        if request.body:
            route = TopicRouteData.decode(request.body)
            self.table.register_topic(h.topic, route.queue_datas)
        return _reply(request)

    # ------------------------------------------------------------------------------------------
    # Configuration

    def update_config(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        if not request.body:
            return _reply(request)
        try:
            properties = parse_properties(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ProtocolError):
            return _reply(request, SYSTEM_ERROR, "string2Properties error")
        result = self.config.apply_update(properties)
        if result.refused:
            log.warning(
                "UPDATE_NAMESRV_CONFIG refused (black-listed keys %s): nothing changed",
                ", ".join(result.refused),
                extra=event("config.update_refused", keys=result.refused),
            )
            return _reply(request, ResponseCode.NO_PERMISSION, BLACK_LIST_REMARK)
        # Java answers SUCCESS whatever it took; the log says what this server did.
        if result.changed:
            changes = (f"{k} {old} -> {new}" for k, (old, new) in result.changed.items())
            log.info(
                "configuration updated: %s",
                ", ".join(changes),
                extra=event(
                    "config.changed",
                    changes={k: {"old": o, "new": n} for k, (o, n) in result.changed.items()},
                ),
            )
        if result.unchanged:
            log.info(
                "UPDATE_NAMESRV_CONFIG: already set, unchanged: %s", ", ".join(result.unchanged)
            )
        if result.ignored:
            reasons = (f"{k} ({why})" for k, why in result.ignored.items())
            log.warning(
                "UPDATE_NAMESRV_CONFIG: ignored %s",
                "; ".join(reasons),
                extra=event("config.update_ignored", reasons=dict(result.ignored)),
            )
        if not properties:
            log.info("UPDATE_NAMESRV_CONFIG without settings: nothing changed")
        return _reply(request)

    def get_config(self, request: RemotingCommand, conn: Hashable) -> RemotingCommand:
        return _reply(request, body=self.config.properties_text().encode("utf-8"))


class RegisterBodyCache:
    """The last decoded REGISTER_BROKER body of each broker, reused when the same bytes come again.

    A broker re-registers every 30 s, usually with the very body it sent before; decoding 10,000
    topics again would cost tens of milliseconds each time. Decoding is a pure function of the
    bytes, the compressed flag and the sender's version, so a hit (same broker, same digest, flag
    and version) is exactly what decoding would give; decoded bodies are never modified.
    """

    LIMIT = 1024  # brokers remembered; the oldest is forgotten first

    def __init__(self, live: Mapping[tuple[str, str], object]) -> None:
        #: The route table's live brokers: entries of brokers gone from it are dropped.
        self._live = live
        self._entries: dict[tuple[str | None, str | None], tuple[tuple, RegisterBrokerBody]] = {}
        #: The loop and the worker both use the cache (`Dispatcher.worker`).
        self._lock = threading.Lock()

    def decode(
        self, request: RemotingCommand, h: RegisterBrokerRequestHeader, *, yielding: bool = False
    ) -> RegisterBrokerBody:
        raw = request.body or b""
        compressed = bool(h.compressed)
        if len(raw) < SMALL_BODY:
            return RegisterBrokerBody.decode_request(
                raw, compressed=compressed, version=request.version, yielding=yielding
            )
        key = (h.cluster_name, h.broker_addr)
        fingerprint = (hashlib.blake2b(raw, digest_size=16).digest(), compressed, request.version)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] == fingerprint:
            return entry[1]
        body = RegisterBrokerBody.decode_request(
            raw, compressed=compressed, version=request.version, yielding=yielding
        )
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            if len(entries) > len(self._live) + 16:  # brokers expired or unregistered
                for gone in [k for k in entries if k not in self._live]:
                    del entries[gone]
            if len(entries) >= self.LIMIT:
                del entries[next(iter(entries))]
            entries[key] = (fingerprint, body)
        return body

    def __len__(self) -> int:
        return len(self._entries)

    def known(self, h: RegisterBrokerRequestHeader) -> RegisterBrokerBody | None:
        """The body last decoded for this broker, if any."""
        with self._lock:
            entry = self._entries.get((h.cluster_name, h.broker_addr))
        return None if entry is None else entry[1]

    def forget(self, cluster_name: str, broker_addr: str) -> None:
        with self._lock:
            self._entries.pop((cluster_name, broker_addr), None)


class _Collector:
    """The cyclic garbage collector around large registrations.

    While one is decoded and applied (on both threads), the collector is held: its hundreds of
    thousands of new objects form no cycles, and left on, the collector would walk the growing
    heap again and again (about a third of the time). When the last one held is done, and one
    of them made new objects to keep (`Hold.freeze`: a body decoded afresh, not the 30 s
    renewal), what is alive is frozen (`gc.freeze`) before the collector runs again: the tables
    then never enter a full collection, which at 100,000 topics walks millions of objects in
    one piece (~60 ms with the GIL held). Frozen objects are still freed when no longer used;
    only a cycle that was alive at that moment and later becomes garbage is never collected,
    so freezing is kept to changes. Used on the event loop only.
    """

    def __init__(self) -> None:
        self._held = 0
        self._disabled = False
        self._freeze = False

    @contextmanager
    def held(self) -> Iterator[Hold]:
        if self._held == 0 and gc.isenabled():
            gc.disable()
            self._disabled = True
        self._held += 1
        hold = Hold()
        try:
            yield hold
        finally:
            self._held -= 1
            self._freeze = self._freeze or hold.freeze
            if self._held == 0 and self._disabled:
                if self._freeze:
                    gc.freeze()
                self._disabled = self._freeze = False
                gc.enable()


class Hold:
    """One holder of `_Collector.held`: `freeze` asks for the survivors to be frozen."""

    __slots__ = ("freeze",)

    def __init__(self) -> None:
        self.freeze = False


_COLLECTOR = _Collector()


def _reaches(size: int, threshold: int | None) -> bool:
    return threshold is not None and size >= threshold


async def _guarded(request: RemotingCommand, pending: Awaitable[Answer]) -> Answer:
    """An answer that comes later, failing as `Dispatcher.handle` fails; nothing for a
    one-way request, whose work is still done."""
    try:
        response = await pending
    except Exception as exc:
        response = _failed(request, exc)
    return None if request.is_oneway else response


def _failed(request: RemotingCommand, exc: Exception) -> RemotingCommand:
    log.warning("request code %s failed: %s", request.code, exc, exc_info=True)
    return _reply(request, SYSTEM_ERROR, f"{type(exc).__name__}: {exc}")


def _show_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """A single host as its address ("::1"), a block as CIDR ("127.0.0.0/8")."""
    single = network.num_addresses == 1
    return str(network.network_address) if single else str(network)


def _address_in(
    peer_host: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        address = ipaddress.ip_address(peer_host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return any(address in network for network in networks)


def _ext(request: RemotingCommand, name: str) -> str | None:
    """One ext field as Java reads it: "" is a value, except over ROCKETMQ headers, where Java
    reads a zero-length value as null."""
    return java_ext(request).get(name)


def _printable(text: str) -> str:
    return text if text.isprintable() else repr(text)


def _java(value: str | None) -> str:
    """How Java's string concatenation shows a missing value."""
    return "null" if value is None else value


def _zone_filter(ext: dict[str, str]) -> str | None:
    """The zone to filter a route by, read as 5.3.3's zone hook reads it: the mode is
    Boolean.parseBoolean (no trimming), and a blank zone name means no filter; the name
    itself is used as sent."""
    if ext.get(ZONE_MODE_EXT, "").lower() != "true":
        return None
    zone = ext.get(ZONE_NAME_EXT, "")
    return None if _java_blank(zone) else zone


def _java_blank(text: str) -> bool:
    """StringUtils.isBlank: empty or only characters Java's Character.isWhitespace accepts
    (which, unlike Python's isspace, leaves out the no-break spaces)."""
    return all(ch.isspace() and ch not in "\u00a0\u2007\u202f" for ch in text)


def _route_not_found(request: RemotingCommand, topic: str | None) -> RemotingCommand:
    shown = "null" if topic is None else topic  # Java prints a missing topic as "null"
    remark = f"No topic route info in name server for the topic: {shown}{FAQ_SUFFIX}"
    return _reply(request, ResponseCode.TOPIC_NOT_EXIST, remark)
