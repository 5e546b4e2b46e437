"""RouteTable's encoded-answer caches against answers computed afresh, after random changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.protocol import dialect
from nsctl.protocol.models import QueueData, TopicList
from nsctl.protocol.register import DataVersion, TopicConfig
from nsctl.server.route_table import Registration, RouteTable

BROKERS = [("broker-a", "C1"), ("broker-b", "C1"), ("broker-c", "C2")]
TOPICS = [f"T{i}" for i in range(8)]

register = st.builds(
    lambda broker, ids, topics, flag, version: (
        "register",
        broker,
        ids,
        {t: flag for t in topics},
        version,
    ),
    st.sampled_from(BROKERS),
    st.sampled_from([0, 1]),
    st.sets(st.sampled_from(TOPICS), min_size=2, max_size=6),
    st.sampled_from([0, 1, 2, 3]),
    st.integers(1, 3),
)
OPS = st.lists(
    st.one_of(
        register,
        st.tuples(st.just("unregister"), st.sampled_from(BROKERS), st.sampled_from([0, 1])),
        st.tuples(st.just("delete"), st.sampled_from(TOPICS), st.sampled_from([None, "C1"])),
        st.tuples(st.just("wipe"), st.sampled_from([b for b, _ in BROKERS])),
        st.tuples(st.just("register_topic"), st.sampled_from(TOPICS), st.sampled_from(BROKERS)),
    ),
    max_size=25,
)
KINDS = [
    ("all", None),
    ("cluster", "C1"),
    ("cluster", "C2"),
    ("cluster", "none"),
    ("system", None),
    ("unit", None),
    ("unit_sub", None),
    ("unit_sub_ununit", None),
]


def addr(name: str, broker_id: int) -> str:
    return f"10.0.0.{ord(name[-1]) - 96}:{10911 + broker_id}"


def registration(op: tuple) -> Registration:
    """The Registration of a "register" op."""
    _, (name, cluster), broker_id, topics, version = op
    return Registration(
        cluster,
        addr(name, broker_id),
        name,
        broker_id,
        topics={t: TopicConfig(t, 4, 4, 6, topic_sys_flag=f) for t, f in topics.items()},
        data_version=DataVersion(version, version, 0),
    )


def apply(table: RouteTable, op: tuple) -> None:
    kind = op[0]
    if kind == "register":
        reg = registration(op)
        table.register_broker(reg, conn=(reg.broker_name, reg.broker_id), now=0)
    elif kind == "unregister":
        _, (name, cluster), broker_id = op
        table.unregister_broker(cluster, addr(name, broker_id), name)
    elif kind == "delete":
        table.delete_topic(op[1], op[2])
    elif kind == "wipe":
        table.wipe_write_perm(op[1])
    else:
        _, topic, (name, _cluster) = op
        table.register_topic(topic, [QueueData(name, 2, 2, 6, 1)])


def fresh(table: RouteTable, kind: str, cluster: str | None) -> bytes:
    if kind == "all":
        return TopicList(table.all_topics()).encode()
    if kind == "cluster":
        return TopicList(table.topics_by_cluster(cluster)).encode()
    if kind == "system":
        return TopicList(*table.system_topics()).encode()
    unit, unit_sub = {
        "unit": (True, None),
        "unit_sub": (None, True),
        "unit_sub_ununit": (False, True),
    }[kind]
    return TopicList(table.unit_topics(unit=unit, unit_sub=unit_sub)).encode()


@settings(max_examples=150, deadline=None)
@given(ops=OPS)
def test_cached_answers_equal_fresh_ones_after_any_change(ops):
    table = RouteTable()
    for op in ops:
        apply(table, op)
        for kind, cluster in KINDS:
            assert table.encoded_topic_list(kind, cluster) == fresh(table, kind, cluster), (
                op,
                kind,
            )
        assert table.encoded_cluster_info() == _fresh_cluster_info(table)


def _fresh_cluster_info(table: RouteTable) -> bytes:

    return dialect.dumps(table.cluster_info(), bare_int_keys=True).encode("utf-8")
