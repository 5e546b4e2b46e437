"""The answer cache is sound: a server with it answers every byte as the same server without it.

Two NameServers run on one event loop, one with the answer cache and one without, and get the
same bytes over real loopback connections: random interleavings of state changes (register,
re-register with a new DataVersion, unregister, broker expiry, a broker's connection closing,
write permission wiped and added, topic deletion, ORDER_TOPIC_CONFIG put and delete, config
updates) and requests (random opaques, JSON and ROCKETMQ headers, old and new client versions,
every cached code and look-alikes the cache must not answer: bodies, one-way, opaque inside
extFields, duplicate and non-canonical opaques, out-of-range values). Requests and changes are
pipelined in one write, so a change in the middle of a batch must be seen by the requests
after it. Every answer stream must be byte-identical.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsctl.protocol import frame
from nsctl.protocol.codes import ORDER_TOPIC_CONFIG_NAMESPACE, RequestCode, SerializeType
from nsctl.protocol.command import FLAG_ONEWAY, FLAG_RESPONSE, RemotingCommand
from nsctl.protocol.register import DataVersion, RegisterBrokerBody, TopicConfig, body_crc32
from nsctl.server import EmbeddedNameServer
from tests.server.twins import SENTINEL_OPAQUE, Twins, encode, json_frame
from tests.server.wire import WireClient

C = RequestCode
CACHED_CODES = (
    C.GET_ROUTEINFO_BY_TOPIC,
    C.GET_BROKER_CLUSTER_INFO,
    C.GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
    C.GET_TOPICS_BY_CLUSTER,
    C.GET_SYSTEM_TOPIC_LIST_FROM_NS,
    C.GET_UNIT_TOPIC_LIST,
    C.GET_HAS_UNIT_SUB_TOPIC_LIST,
    C.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
)
BROKERS = (  # (cluster, broker name, address, broker id)
    ("C1", "broker-a", "127.0.0.1:10911", 0),
    ("C1", "broker-a", "127.0.0.1:10921", 1),
    ("C2", "broker-b", "127.0.0.1:20911", 0),
)
TOPICS = ("T1", "T2", "TBW102", "%RETRY%group", "UnitT")
ASKED_TOPICS = ("T1", "T2", "TBW102", "missing")
CONNECTIONS = 3
#: Requests repeat with these opaques, so that the cache is exercised; a few are edge values.
OPAQUES = st.one_of(
    st.sampled_from((0, 1, 7, 42, 123, 999, 2**31 - 1, 2**31 - 2, -1, -9, -(2**31))),
    st.integers(-(2**31), SENTINEL_OPAQUE - 1),
)
VERSIONS = st.sampled_from((0, 317, 401, 479))  # before and after 4.9.4's standard JSON


# --------------------------------------------------------------------------------------------
# Frames


#: Topic tables a broker registers (name -> queues, perm, sys flag): few, so that the same
#: broker re-registers the same table with only its DataVersion or filter servers changed.
TOPIC_TABLES = (
    {"T1": (4, 6, 0), "TBW102": (8, 6, 0)},
    {"T1": (4, 4, 0), "T2": (2, 6, 1), "UnitT": (1, 6, 3)},
    {"T2": (8, 2, 2), "%RETRY%group": (1, 6, 0), "TBW102": (8, 7, 0)},
    {"T1": (1, 6, 0), "T2": (1, 6, 0), "TBW102": (8, 6, 0), "UnitT": (2, 6, 1)},
)


@st.composite
def register(draw, tables: list[int]) -> bytes:
    """A broker's registration; mostly with its own topic table of this example (`tables`),
    so that re-registrations differ only in DataVersion or filter servers."""
    which = draw(st.integers(0, len(BROKERS) - 1))
    cluster, name, addr, broker_id = BROKERS[which]
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(draw(st.integers(0, 2)), 1, 0)
    table = (
        TOPIC_TABLES[tables[which]]
        if draw(st.integers(0, 3))
        else draw(st.sampled_from(TOPIC_TABLES))
    )
    for topic, (queues, perm, sys_flag) in table.items():
        wrapper.topic_config_table[topic] = TopicConfig(
            topic, queues, queues, perm, topic_sys_flag=sys_flag
        )
    body.filter_server_list = draw(
        st.sampled_from(([], [], ["127.0.0.1:30000"], ["127.0.0.1:30001", "127.0.0.1:30000"]))
    )
    raw = body.encode()
    ext = {
        "brokerName": name,
        "brokerAddr": addr,
        "clusterName": cluster,
        "haServerAddr": addr,
        "brokerId": str(broker_id),
        "compressed": "false",
        "bodyCrc32": str(body_crc32(raw)),
    }
    serialize = draw(st.sampled_from(SerializeType))
    return encode(C.REGISTER_BROKER, ext, raw, opaque=draw(OPAQUES), serialize=serialize)


@st.composite
def change(draw, tables: list[int]) -> bytes:
    """A request that changes the state (or may: unregistering an unknown broker does not)."""
    opaque = draw(OPAQUES)
    cluster, name, addr, _ = draw(st.sampled_from(BROKERS))
    topic = draw(st.sampled_from(TOPICS))
    kind = draw(
        st.sampled_from(
            ("register", "register", "unregister", "wipe", "add", "kv", "kv", "config", "delete")
        )
    )
    if kind == "register":
        return draw(register(tables))
    if kind == "unregister":
        ext = {"brokerName": name, "brokerAddr": addr, "clusterName": cluster, "brokerId": "0"}
        return encode(C.UNREGISTER_BROKER, ext, opaque=opaque)
    if kind in ("wipe", "add"):
        code = C.WIPE_WRITE_PERM_OF_BROKER if kind == "wipe" else C.ADD_WRITE_PERM_OF_BROKER
        return encode(code, {"brokerName": name}, opaque=opaque)
    if kind == "kv":
        key = draw(st.sampled_from(("T1", "T2")))  # the probed routes
        ext = {"namespace": ORDER_TOPIC_CONFIG_NAMESPACE, "key": key}
        if draw(st.integers(0, 2)):
            ext["value"] = draw(st.sampled_from(("broker-a:4", "broker-a:4;broker-b:2")))
            return encode(C.PUT_KV_CONFIG, ext, opaque=opaque)
        return encode(C.DELETE_KV_CONFIG, ext, opaque=opaque)
    if kind == "config":
        key, value = draw(
            st.sampled_from(
                (
                    ("orderMessageEnable", "true"),
                    ("orderMessageEnable", "false"),
                    ("enableAllTopicList", "false"),
                    ("enableAllTopicList", "true"),
                    ("enableTopicList", "false"),
                    ("enableTopicList", "true"),
                    ("supportActingMaster", "true"),
                    ("supportActingMaster", "false"),
                    ("needWaitForService", "true"),
                    ("needWaitForService", "false"),
                    ("waitSecondsForService", "0"),
                    ("waitSecondsForService", "45"),
                )
            )
        )
        body = f"{key}={value}\n".encode()
        return encode(C.UPDATE_NAMESRV_CONFIG, None, body, opaque=opaque)
    ext = {"topic": topic}
    if draw(st.booleans()):
        ext["clusterName"] = cluster
    return encode(C.DELETE_TOPIC_IN_NAMESRV, ext, opaque=opaque)


#: Opaques as a JSON header writes them. Widths repeat, so that cached answers are reused, and
#: each non-canonical text has the width of a canonical one: the same cache key.
CANONICAL_OPAQUES = (
    *("1", "7", "8", "9", "42", "123", "456", "999", "2147483647", "2147483646"),
    *("-1", "-9", "-2147483648", "-2147483647"),
)
NON_CANONICAL_OPAQUES = ("007", "00", "-0", "2147483648", "-2147483649", "0123", "99999999999")
OPAQUE_TEXTS = st.one_of(
    st.sampled_from(CANONICAL_OPAQUES),
    st.sampled_from(CANONICAL_OPAQUES),
    st.sampled_from(NON_CANONICAL_OPAQUES),
    st.integers(-(2**31), SENTINEL_OPAQUE - 1).map(str),
)


def _opaque_value(text: str) -> int:
    """For a question sent through the encoder: the text's value if it is a canonical int32."""
    value = int(text)
    return value if str(value) == text and -(2**31) <= value < 2**31 else 8


@st.composite
def question(draw):
    """A question template (opaque text -> frame): a cached one, or one that looks like it and
    must not be answered from the cache."""
    version = draw(VERSIONS)
    serialize = draw(st.sampled_from(SerializeType))
    topic = draw(st.sampled_from(ASKED_TOPICS))
    kind = draw(
        st.sampled_from(
            ("cached",) * 4 + ("zone", "body", "oneway", "response", "other") + ("raw",) * 3
        )
    )
    code = draw(st.sampled_from(CACHED_CODES))
    ext: dict[str, str] | None = None
    if code == C.GET_ROUTEINFO_BY_TOPIC:
        ext = {"topic": topic}
        if draw(st.integers(0, 4)) == 0:
            ext["acceptStandardJsonOnly"] = "true"
    elif code == C.GET_TOPICS_BY_CLUSTER:
        ext = {"cluster": draw(st.sampled_from(("C1", "C2", "C9")))}
    body, flag = None, 0
    if kind == "zone":
        code = C.GET_ROUTEINFO_BY_TOPIC
        ext = {"topic": topic, "__ZONE_MODE": "true", "__ZONE_NAME": "z1"}
    elif kind == "body":
        body = b"x"
    elif kind in ("oneway", "response"):
        flag = FLAG_ONEWAY if kind == "oneway" else FLAG_RESPONSE
    elif kind == "other":
        code = draw(st.sampled_from((C.GET_KV_CONFIG, C.GET_BROKER_MEMBER_GROUP, 999)))
        ext = {"namespace": ORDER_TOPIC_CONFIG_NAMESPACE, "key": topic, "brokerName": "broker-a"}
    elif kind == "raw":
        template = draw(RAW_ROUTE_TEMPLATES)
        return lambda digits: json_frame(template % (topic, digits))

    def render(digits: str) -> bytes:
        opaque = _opaque_value(digits)
        data = encode(
            code, ext, body, opaque=opaque, version=version, serialize=serialize, flag=flag
        )
        if serialize == SerializeType.ROCKETMQ or str(opaque) == digits:
            return data
        # A JSON header can carry an opaque written in any way: put the text in as it is.
        header_length = int.from_bytes(data[4:8], "big")
        header = data[8 : 8 + header_length].replace(
            b'"opaque":%d' % opaque, b'"opaque":' + digits.encode()
        )
        return json_frame(header.decode(), data[8 + header_length :])

    return render


#: Hand-written JSON route questions: other key orders, and opaques that are not what they
#: seem (inside extFields, twice, quoted, spaced).
RAW_ROUTE_TEXTS = (
    '{"code":105,"extFields":{"topic":"%s"},"flag":0,"language":"JAVA",'
    '"opaque":%s,"serializeTypeCurrentRPC":"JSON","version":479}',
    '{"code":105,"extFields":{"topic":"%s"},"flag":0,"version":401,"opaque":%s}',
    '{"code":105,"extFields":{"topic":"%s","opaque":%s},"flag":0,"opaque":7}',
    '{"code":105,"extFields":{"topic":"%s"},"opaque":%s,"flag":0,"opaque":7}',
    '{"code":105,"extFields":{"topic":"%s"},"opaque":"%s","flag":0}',
    '{"code":105,"extFields":{"topic":"%s"},"opaque": %s,"flag":0}',
    '{"code":105,"extFields":{"topic":"%s"},"flag":1,"opaque":%s}',
)
RAW_ROUTE_TEMPLATES = st.sampled_from(RAW_ROUTE_TEXTS)


@st.composite
def scripts(draw) -> list:
    """Steps to play: batches of questions (from a few templates, so that they repeat) and
    changes, the clock moving, brokers expiring, connections closing."""
    templates = draw(st.lists(question(), min_size=1, max_size=5))
    tables = draw(st.lists(st.integers(0, len(TOPIC_TABLES) - 1), min_size=3, max_size=3))
    item = st.one_of(
        st.tuples(st.sampled_from(templates), OPAQUE_TEXTS).map(lambda t: t[0](t[1])),
        st.tuples(st.sampled_from(templates), OPAQUE_TEXTS).map(lambda t: t[0](t[1])),
        st.tuples(st.sampled_from(templates), OPAQUE_TEXTS).map(lambda t: t[0](t[1])),
        change(tables),
    )
    batch = st.tuples(
        st.just("batch"), st.integers(0, CONNECTIONS - 1), st.lists(item, max_size=10)
    )
    # One change alone: what it changes, and only that, must show in the probes.
    alone = st.tuples(
        st.just("batch"), st.integers(0, CONNECTIONS - 1), change(tables).map(lambda f: [f])
    )
    step = st.one_of(
        batch,
        batch,
        alone,
        alone,
        alone,
        st.tuples(st.just("expire"), st.sampled_from((0, 1_000, 130_000))),
        st.tuples(st.just("close"), st.integers(0, CONNECTIONS - 1)),
        st.tuples(st.just("clock"), st.sampled_from((10_000, 50_000))),
    )
    settings = {
        "orderMessageEnable": draw(st.booleans()),
        "supportActingMaster": draw(st.booleans()),
        "needWaitForService": draw(st.booleans()),
        "waitSecondsForService": draw(st.sampled_from((0, 45))),
    }
    pair = draw(st.sampled_from(PROBE_PAIRS))
    steps = draw(st.lists(step, min_size=3, max_size=25))
    return [("settings", settings, templates, pair), *steps]


@pytest.fixture
def run_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


#: Every cached question, asked after every step: a stale answer to any of them is seen.
STANDARD_PROBES = [
    encode(code, {"topic": topic, "cluster": "C1"}, opaque=opaque, serialize=serialize)
    for code in CACHED_CODES
    for topic in (("T1", "T2") if code == C.GET_ROUTEINFO_BY_TOPIC else ("T1",))
    for serialize in SerializeType
    for opaque in (11, 12)
]
PROBE_CONNECTION = CONNECTIONS  # a connection of its own, as non-canonical probes close it
#: A canonical opaque and a non-canonical one of the same width (the same cache key).
PROBE_PAIRS = (
    ("123", "007"),
    ("42", "00"),
    ("-1", "-0"),
    ("2147483647", "2147483648"),
    ("-2147483648", "-2147483649"),
)


async def play(tmp: Path, script: list, *, offload: bool = False) -> Twins:
    (_, settings, templates, pair), *steps = script
    twins = Twins(tmp, settings, offload=offload)
    # After every step, every template and every cached question is asked again: twice with a
    # canonical opaque (the second may be a hit), with two more opaques of one digit (a hit
    # on one of them when the other was admitted), then with the non-canonical one.
    probes = b"".join(
        [
            *STANDARD_PROBES,
            *(
                template(text)
                for text in (pair[0], pair[0], "7", "8", pair[1])
                for template in templates
            ),
        ]
    )
    await twins.start()
    try:
        for step in steps:
            kind = step[0]
            if kind == "batch":
                _, which, frames = step
                cached, plain = await twins.exchange(which, b"".join(frames))
                assert cached == plain, (step, cached, plain)
            elif kind == "expire":
                await twins.expire(step[1])
            elif kind == "close":
                await twins.close(step[1])
            else:
                twins.clock.now += step[1]
            cached, plain = await twins.exchange(PROBE_CONNECTION, probes)
            assert cached == plain, (step, cached, plain)
    finally:
        await twins.stop()
    return twins


@given(script=scripts())
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_cached_answers_are_byte_identical_to_uncached(script, run_loop, tmp_path):
    run_loop.run_until_complete(play(tmp_path, script))


@given(script=scripts())
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_answers_worked_out_in_the_worker_are_byte_identical(script, run_loop, tmp_path):
    """Every registration decoded and planned, and every topic list made, in the worker
    thread (with the answer cache), against a server that does all of it on the loop."""
    run_loop.run_until_complete(play(tmp_path, script, offload=True))


# --------------------------------------------------------------------------------------------
# Deterministic cases: the cache is really used, and sees changes inside a batch


def route(opaque: int, serialize: SerializeType = SerializeType.JSON, topic: str = "T1") -> bytes:
    return encode(C.GET_ROUTEINFO_BY_TOPIC, {"topic": topic}, opaque=opaque, serialize=serialize)


def broker(
    topics: dict[str, int],
    counter: int = 1,
    *,
    which: int = 0,
    filter_servers: tuple[str, ...] = (),
) -> bytes:
    """A registration of BROKERS[which]: `topics` maps name -> perm (and TBW102 is always
    there: a broker's first registration has more than one topic)."""
    cluster, name, addr, broker_id = BROKERS[which]
    topics = {"TBW102": 6, **topics}
    body = RegisterBrokerBody()
    body.topic_config_serialize_wrapper.data_version = DataVersion(counter, 1, 0)
    for topic, perm in topics.items():
        body.topic_config_serialize_wrapper.topic_config_table[topic] = TopicConfig(
            topic, 4, 4, perm
        )
    body.filter_server_list = list(filter_servers)
    raw = body.encode()
    ext = {
        "brokerName": name,
        "brokerAddr": addr,
        "clusterName": cluster,
        "haServerAddr": addr,
        "brokerId": str(broker_id),
        "bodyCrc32": str(body_crc32(raw)),
    }
    return encode(C.REGISTER_BROKER, ext, raw, opaque=5)


def _order(topic: str, value: str | None) -> bytes:
    ext = {"namespace": ORDER_TOPIC_CONFIG_NAMESPACE, "key": topic}
    if value is None:
        return encode(C.DELETE_KV_CONFIG, ext, opaque=6)
    return encode(C.PUT_KV_CONFIG, {**ext, "value": value}, opaque=6)


def _config(text: str) -> bytes:
    return encode(C.UPDATE_NAMESRV_CONFIG, None, text.encode(), opaque=7)


#: Every kind of state change, each alone: (connection to send it on, frames) or an action.
CHANGES = {
    "re-register with a new DataVersion": (1, broker({"T1": 4, "T2": 6}, 2)),
    "re-register with other filter servers": (
        1,
        broker({"T1": 6, "T2": 6}, 1, filter_servers=("127.0.0.1:30000",)),
    ),
    "register a new broker": (2, broker({"T1": 6}, 1, which=2)),
    "register a slave": (2, broker({"T1": 6, "T2": 6}, 1, which=1)),
    "unregister": (
        0,
        encode(
            C.UNREGISTER_BROKER,
            {"brokerName": "broker-a", "brokerAddr": "127.0.0.1:10911", "clusterName": "C1"},
        ),
    ),
    "wipe write permission": (0, encode(C.WIPE_WRITE_PERM_OF_BROKER, {"brokerName": "broker-a"})),
    "delete a topic": (0, encode(C.DELETE_TOPIC_IN_NAMESRV, {"topic": "T2"})),
    "put an order conf": (0, _order("T2", "broker-a:4")),
    "change an order conf": (0, _order("T1", "broker-a:2")),
    "delete an order conf": (0, _order("T1", None)),
    "orderMessageEnable": (0, _config("orderMessageEnable=false")),
    "enableAllTopicList": (0, _config("enableAllTopicList=false")),
    "enableTopicList": (0, _config("enableTopicList=false")),
    "needWaitForService": (0, _config("needWaitForService=true\nwaitSecondsForService=45")),
    "broker expiry": "expire",
    "the broker's connection closes": "close",
}


@pytest.mark.parametrize("change_kind", CHANGES)
def test_every_kind_of_change_is_seen_by_the_next_cached_answer(change_kind, run_loop, tmp_path):
    """Each change alone, after the cache holds every cached answer: the answers change, and
    the cached server gives the new ones."""

    async def scenario() -> None:
        twins = Twins(tmp_path, {"orderMessageEnable": True})
        await twins.start()
        try:
            await twins.exchange(1, broker({"T1": 6, "T2": 6}))
            await twins.exchange(0, _order("T1", "broker-a:4"))
            for _ in range(2):  # the second time from the cache
                before, plain = await twins.exchange(0, b"".join(STANDARD_PROBES))
                assert before == plain
            change = CHANGES[change_kind]
            if change == "expire":
                await twins.expire(200_000)
            elif change == "close":
                await twins.close(1)
            else:
                which, data = change
                await twins.exchange(which, data)
            after, plain = await twins.exchange(0, b"".join(STANDARD_PROBES))
            assert after == plain
            assert after != before  # the change shows in the answers
            if "filter servers" in change_kind:
                assert b"127.0.0.1:30000" in after
        finally:
            await twins.stop()

    run_loop.run_until_complete(scenario())


def test_repeated_questions_are_answered_from_the_cache(run_loop, tmp_path):
    async def scenario() -> None:
        twins = Twins(tmp_path)
        await twins.start()
        try:
            await twins.exchange(1, broker({"T1": 6}))
            questions = [route(i, s) for i in range(1, 60) for s in SerializeType]
            cached, plain = await twins.exchange(0, b"".join(questions))
            assert cached == plain
            cache = twins.servers[0].answer_cache
            assert cache is not None and twins.servers[1].answer_cache is None
            # One miss per serialization and opaque width, the rest are hits.
            assert cache.hits >= len(questions) - 6
            assert len(cache) <= 6
        finally:
            await twins.stop()

    run_loop.run_until_complete(scenario())


def test_a_change_inside_a_batch_is_seen_by_the_next_request(run_loop, tmp_path):
    async def scenario() -> None:
        twins = Twins(tmp_path)
        await twins.start()
        try:
            await twins.exchange(1, broker({"T1": 6}))
            order = encode(
                C.PUT_KV_CONFIG,
                {"namespace": ORDER_TOPIC_CONFIG_NAMESPACE, "key": "T1", "value": "broker-a:4"},
                opaque=77,
            )
            enable = encode(C.UPDATE_NAMESRV_CONFIG, None, b"orderMessageEnable=true", opaque=78)
            wipe = encode(C.WIPE_WRITE_PERM_OF_BROKER, {"brokerName": "broker-a"}, opaque=79)
            batch = [route(1), route(2), order, route(3), enable, route(4), wipe, route(5)]
            cached, plain = await twins.exchange(0, b"".join(batch))
            assert cached == plain
            answers = _frames(cached)
            bodies = [json.loads(a.body) if a.body else None for a in answers]
            routes = [
                b for a, b in zip(answers, bodies, strict=True) if a.opaque in (1, 2, 3, 4, 5)
            ]
            assert routes[0] == routes[1] == routes[2]  # the order conf is off until enabled
            assert routes[3]["orderTopicConf"] == "broker-a:4"
            assert routes[4]["queueDatas"][0]["perm"] == 4  # write permission wiped
            assert routes[3]["queueDatas"][0]["perm"] == 6
        finally:
            await twins.stop()

    run_loop.run_until_complete(scenario())


@pytest.mark.parametrize("template", RAW_ROUTE_TEXTS)
def test_look_alikes_are_answered_as_without_the_cache(template, run_loop, tmp_path):
    """Each hand-written question with opaques that share a cache key (one digit; ten digits,
    the last one out of range; three digits, the last one not canonical), in one batch."""

    async def scenario() -> None:
        twins = Twins(tmp_path)
        await twins.start()
        try:
            await twins.exchange(1, broker({"T1": 6}))
            for texts in (("7", "7", "8", "9"), ("2147483647", "2147483646", "2147483648")):
                batch = b"".join(json_frame(template % ("T1", text)) for text in texts)
                cached, plain = await twins.exchange(0, batch)
                assert cached == plain
            cached, plain = await twins.exchange(
                0, b"".join(json_frame(template % ("T1", text)) for text in ("123", "123", "007"))
            )
            assert cached == plain
        finally:
            await twins.stop()

    run_loop.run_until_complete(scenario())


def test_nothing_is_cached_while_waiting_for_brokers(run_loop, tmp_path):
    async def scenario() -> None:
        twins = Twins(tmp_path)
        for server in twins.servers:
            server.config.set("needWaitForService", True)
            server.config.set("waitSecondsForService", 45)
        await twins.start()
        try:
            await twins.exchange(1, broker({"T1": 6}))
            early, plain = await twins.exchange(0, route(1) + route(2))
            assert early == plain and b"name server not ready" in early
            assert len(twins.servers[0].answer_cache) == 0
            twins.clock.now += 45_000
            ready, plain = await twins.exchange(0, route(1) + route(2))
            assert ready == plain and b"not ready" not in ready
            assert len(twins.servers[0].answer_cache) == 1
        finally:
            await twins.stop()

    run_loop.run_until_complete(scenario())


def _frames(stream: bytes) -> list[RemotingCommand]:
    answers = []
    offset = 0
    while offset < len(stream):
        length = int.from_bytes(stream[offset : offset + 4], "big")
        answers.append(frame.decode(stream[offset : offset + 4 + length]))
        offset += 4 + length
    return answers


@pytest.mark.parametrize("answer_cache", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize(
    "bad",
    [
        struct.pack(">i", -5) + b"\x00" * 8,  # length word out of range
        json_frame('{"code":105,"opaque":1'),  # a header that is not JSON
    ],
    ids=["length", "header"],
)
def test_good_frames_before_a_malformed_one_are_answered_then_the_connection_closes(
    answer_cache, bad, tmp_path
):
    with (
        EmbeddedNameServer(
            kv_config_path=tmp_path / "kv.json", answer_cache=answer_cache
        ) as server,
        WireClient(server.address) as registering,
    ):
        registering.send_raw(broker({"T1": 6}))
        assert registering.recv().code == 0
        with WireClient(server.address) as client:
            client.send_raw(route(1) + route(2) + route(3) + bad + route(4))
            assert [client.recv().opaque for _ in range(3)] == [1, 2, 3]
            assert client.closed_by_server()


def test_the_cache_is_bounded_in_entries_and_bytes():
    from nsctl.protocol.frame import decode_payload
    from nsctl.server.answer_cache import AnswerCache

    def admit(cache: AnswerCache, topic: str, serialize: SerializeType, body: bytes) -> bool:
        frame_ = route(42, serialize, topic)
        request = decode_payload(frame_[4:])
        response = request.make_response(0, body=body, version=479)
        return cache.admit(frame_, request, response, frame.encode(response))

    small = AnswerCache(max_entries=3)
    for i in range(5):
        for serialize in SerializeType:
            assert admit(small, f"T{i}", serialize, b"{}")
    assert len(small) == 3
    out: list[bytes] = []
    newest = route(7, SerializeType.ROCKETMQ, "T4")
    assert small.answer_hits(newest, 0, out, 1 << 20)[0] == len(newest)
    oldest = route(7, SerializeType.JSON, "T0")
    assert small.answer_hits(oldest, 0, out, 1 << 20)[0] == 0

    budget = AnswerCache(max_bytes=40_000)
    assert not admit(budget, "T1", SerializeType.JSON, b"x" * 20_000)  # over a quarter
    for i in range(6):
        assert admit(budget, f"T{i}", SerializeType.JSON, b"x" * 9_000)
    assert budget.size_bytes <= 40_000 and len(budget) == 4
    again = budget.size_bytes
    assert admit(budget, "T5", SerializeType.JSON, b"x" * 9_000)  # replaces its own entry
    assert budget.size_bytes == again and len(budget) == 4


def test_questions_that_differ_only_after_the_opaque(run_loop, tmp_path):
    """JSON headers put `version` after `opaque`: 3.x-4.9.3 clients (317) get a route with bare
    integer keys, 4.9.4+ (401) standard JSON, from frames that agree up to the opaque."""

    async def scenario() -> None:
        twins = Twins(tmp_path)
        await twins.start()
        try:
            await twins.exchange(1, broker({"T1": 6}))
            batch = [
                encode(C.GET_ROUTEINFO_BY_TOPIC, {"topic": "T1"}, opaque=opaque, version=version)
                for opaque in (1, 2, 3)
                for version in (317, 401, 317, 479)
            ]
            cached, plain = await twins.exchange(0, b"".join(batch))
            assert cached == plain
            bodies = {a.body for a in _frames(cached) if a.body}
            assert len(bodies) == 2
        finally:
            await twins.stop()

    run_loop.run_until_complete(scenario())
