"""Work done off the event loop (server.offload) answers as the loop would.

* RouteTable level: topic-list jobs made at any point and finished after further changes give
  the list of the moment they were made (or, for jobs that read the table, nothing once it
  changed), and leave the caches right; registration plans made before other changes are
  used only while still valid. A twin table that gets the same changes and no job or plan is
  the oracle.
* Server level: with everything sent to the worker, clients registering, unregistering and
  asking for lists at once over real sockets get, for every list, the answer of some moment of
  the server's own sequence of changes, replayed on the loop afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsctl.protocol import dialect, frame
from nsctl.protocol.codes import RequestCode
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.models import KVConfigFile, TopicList
from nsctl.protocol.register import (
    DataVersion,
    RegisterBrokerBody,
    TopicConfig,
    body_crc32,
)
from nsctl.server.config import NamesrvConfig
from nsctl.server.kvstore import KVStore, encode_table
from nsctl.server.offload import Worker
from nsctl.server.route_table import RouteTable, encode_topic_list
from nsctl.server.server import NameServer
from tests.server.test_route_table_caches import (
    BROKERS,
    KINDS,
    OPS,
    addr,
    apply,
    registration,
)

STEPS = st.lists(
    st.one_of(
        OPS.map(lambda ops: ("ops", ops)),
        st.tuples(st.just("job"), st.sampled_from(KINDS)),
        st.tuples(st.just("finish"), st.integers(0, 20)),
        st.tuples(st.just("plan"), OPS.filter(bool).map(lambda ops: ops[0])),
        st.tuples(st.just("apply_plan"), st.integers(0, 20)),
        st.tuples(st.just("prepare_removal"), st.sampled_from(BROKERS), st.sampled_from([0, 1])),
        st.tuples(st.just("remove_prepared"), st.integers(0, 20)),
    ),
    max_size=30,
)


def snapshot(table: RouteTable) -> dict:
    return {
        **{kind: table.encoded_topic_list(*kind) for kind in KINDS},
        "cluster": table.encoded_cluster_info(),
        "routes": {
            topic: table.encoded_route(topic, standard_json=True)
            for topic in dict.keys(table.topic_queue_table)
        },
    }


@settings(max_examples=300, deadline=None)
@given(steps=STEPS)
def test_jobs_and_plans_made_before_changes_answer_as_the_loop_would(steps):
    table, twin = RouteTable(), RouteTable()
    jobs: list = []  # (job, the twin's body when it was made)
    plans: list = []  # (registration op, plan)
    removals: list = []  # (cluster, address, name, the group's table built without it)
    for step in steps:
        kind = step[0]
        if kind == "ops":
            for op in step[1]:
                apply(table, op)
                apply(twin, op)
        elif kind == "job":
            job = table.topic_list_job(*step[1])
            if job is not None:
                jobs.append((job, twin.encoded_topic_list(*step[1])))
        elif kind == "finish" and jobs:
            job, expected = jobs.pop(step[1] % len(jobs))
            body = table.finish_topic_list(job, job.run())
            if job.live:
                assert body is None or body == expected == twin.encoded_topic_list(*job.key)
            else:
                assert body == expected
        elif kind == "plan" and step[1][0] == "register":
            reg = registration(step[1])
            plans.append((step[1], table.plan_topics(reg.broker_name, reg.topics)))
        elif kind == "apply_plan" and plans:
            op, plan = plans.pop(step[1] % len(plans))
            reg = registration(op)
            reg.topics = plan.topics  # the decoded table the plan was made for
            table.register_broker(reg, conn=(reg.broker_name, reg.broker_id), now=0, plan=plan)
            twin.register_broker(registration(op), conn=(reg.broker_name, reg.broker_id), now=0)
        elif kind == "prepare_removal":
            (name, cluster), broker_id = step[1], step[2]
            job = table.group_removal_job(cluster, addr(name, broker_id))
            if job is not None:
                removals.append((cluster, addr(name, broker_id), name, job()))
        elif kind == "remove_prepared" and removals:
            cluster, address, name, removal = removals.pop(step[1] % len(removals))
            with table.offered([removal]):
                table.unregister_broker(cluster, address, name)
            twin.unregister_broker(cluster, address, name)
            table.garbage.clear()
        assert snapshot(table) == snapshot(twin), step
    for job, expected in jobs:  # jobs never finished still give their moment's list
        if not job.live:
            assert job.run()[1] == expected


def test_a_job_that_reads_the_table_gives_nothing_once_it_changed():
    table = RouteTable()
    for op in [("register", ("broker-a", "C1"), 0, {"T1": 1, "T2": 0}, 1)]:
        apply(table, op)
    job = table.topic_list_job("unit")
    assert job is not None and job.live
    result = job.run()
    table.delete_topic("T1")
    assert table.finish_topic_list(job, result) is None
    job = table.topic_list_job("unit")
    assert table.finish_topic_list(job, job.run()) == TopicList([]).encode()


@settings(max_examples=200, deadline=None)
@given(
    topics=st.lists(st.text(max_size=12).map(lambda t: t.replace("\ud800", "?")), max_size=9000),
    broker_addr=st.one_of(st.none(), st.just("10.0.0.1:10911")),
)
def test_topic_lists_encoded_in_pieces_are_byte_identical(topics, broker_addr):
    topics = [t.encode("utf-8", "replace").decode("utf-8") for t in topics]
    assert encode_topic_list(topics, broker_addr) == TopicList(topics, broker_addr).encode()


@settings(max_examples=100, deadline=None)
@given(
    tables=st.dictionaries(
        st.text(min_size=1, max_size=10), st.integers(1, 16), min_size=1, max_size=50
    )
)
def test_a_yielding_parse_reads_what_a_plain_one_reads(tables):
    body = RegisterBrokerBody()
    for name, queues in tables.items():
        body.topic_config_serialize_wrapper.topic_config_table[name] = TopicConfig(
            name, queues, queues
        )
    raw = body.encode()
    plain = RegisterBrokerBody.decode_request(raw, compressed=False, version=479)
    assert (
        RegisterBrokerBody.decode_request(raw, compressed=False, version=479, yielding=True)
        == plain
    )
    assert dialect.loads(raw, yielding=True) == dialect.loads(raw)


# ---------------------------------------------------------------------------------------------
# The worker


def test_the_worker_runs_in_order_and_hands_back_results_and_errors():
    async def main():
        worker = Worker()
        try:
            threads = await asyncio.gather(
                *(worker.run(lambda: threading.current_thread().name) for _ in range(5))
            )
            assert set(threads) == {"nsctl-offload"}
            seen: list[int] = []
            await asyncio.gather(*(worker.run(seen.append, i) for i in range(50)))
            assert seen == list(range(50))
            with pytest.raises(ZeroDivisionError):
                await worker.run(lambda: 1 / 0)
            cancelled = worker.run(seen.append, "never")
            blocker = worker.run(threading.Event().wait, 0.2)  # noqa: F841 - keeps it busy
            cancelled.cancel()
            assert await worker.run(lambda: "after") == "after"
            assert "never" in seen or cancelled.cancelled()
        finally:
            worker.stop()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# A real server, everything in the worker, many clients at once


CLIENT_BROKERS = [(f"broker-{c}", "C1" if c in "ab" else "C2") for c in "abcd"]


def register_frame(name: str, cluster: str, topics: dict[str, int], version: int) -> bytes:
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(version, version, 0)
    for topic, flag in topics.items():
        wrapper.topic_config_table[topic] = TopicConfig(topic, 4, 4, 6, topic_sys_flag=flag)
    raw = body.encode()
    ext = {
        "brokerName": name,
        "brokerAddr": addr(name, 0),
        "clusterName": cluster,
        "haServerAddr": addr(name, 0),
        "brokerId": "0",
        "bodyCrc32": str(body_crc32(raw)),
    }
    return frame.encode(RemotingCommand(code=103, ext_fields=ext, body=raw, version=479))


LISTS = [
    (RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, None, ("all", None)),
    (RequestCode.GET_TOPICS_BY_CLUSTER, {"cluster": "C1"}, ("cluster", "C1")),
    (RequestCode.GET_UNIT_TOPIC_LIST, None, ("unit", None)),
]


async def _client(port: int, seed: int, seen: list) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for opaque in range(1, 25):
            if rng.random() < 0.5:
                name, cluster = rng.choice(CLIENT_BROKERS)
                # Large enough that lists take the worker a while as changes come in.
                count = rng.randint(1, 1500)
                topics = {f"T{i}": rng.choice([0, 1]) for i in rng.sample(range(3000), count)}
                writer.write(register_frame(name, cluster, topics, rng.randint(1, 4)))
            else:
                code, ext, key = rng.choice(LISTS)
                writer.write(
                    frame.encode(RemotingCommand(code=code, opaque=opaque, ext_fields=ext))
                )
            head = await reader.readexactly(4)
            answer = frame.decode(head + await reader.readexactly(int.from_bytes(head, "big")))
            if answer.code == 0 and answer.body and b"topicList" in answer.body:
                seen.append((key, answer.body))
    finally:
        writer.close()


def test_concurrent_clients_see_lists_of_moments_of_the_servers_own_sequence(tmp_path):
    """The server's table records every change it applies, in order; replayed afterwards on a
    table that does everything on the loop, some moment of that sequence must have given each
    list a client received."""

    async def main():
        config = NamesrvConfig()
        config.set("bindAddress", "127.0.0.1")
        config.set("listenPort", 0)
        config.offload_min_topics = config.offload_min_body = 0
        server = NameServer(config, kv_store=KVStore(tmp_path / "kv.json"))
        applied: list[tuple] = []
        register, closed = server.table.register_broker, server.table.connection_closed

        def recording(reg, **kwargs):
            applied.append(("register", reg, kwargs["conn"], kwargs["now"]))
            return register(reg, **kwargs)

        def recording_close(conn):
            applied.append(("closed", conn))
            return closed(conn)

        server.table.register_broker = recording  # type: ignore[method-assign]
        server.table.connection_closed = recording_close  # type: ignore[method-assign]
        await server.start()
        seen: list = []
        try:
            await asyncio.gather(*(_client(server.port, seed, seen) for seed in range(8)))
            await server.settled()  # the brokers of the closed connections are gone
            final = snapshot(server.table)
        finally:
            await server.stop()
        offloaded = server.stats.offloaded
        assert offloaded["registration"] and offloaded["topic_list"]
        assert offloaded["broker_removal"]  # closed connections' groups, tables swapped
        return applied, seen, final

    applied, seen, final = asyncio.run(main())
    assert seen and applied
    replay = RouteTable()
    moments = {key: {replay.encoded_topic_list(*key)} for _, _, key in LISTS}
    for change in applied:
        if change[0] == "register":
            _, reg, conn, now = change
            replay.register_broker(reg, conn=conn, now=now)
        else:
            replay.connection_closed(change[1])
        for key in moments:
            moments[key].add(replay.encoded_topic_list(*key))
    for key, body in seen:
        assert body in moments[key], (key, json.loads(body))
    assert final == snapshot(replay)


@settings(max_examples=100, deadline=None)
@given(
    table=st.dictionaries(
        st.text(max_size=6),
        st.dictionaries(
            st.text(max_size=8), st.one_of(st.none(), st.text(max_size=10)), max_size=3000
        ),
        max_size=4,
    ),
    filler=st.integers(0, 9000),
)
def test_kv_files_encoded_in_pieces_are_byte_identical(table, filler):
    table = {
        namespace: {k: _utf8(v) for k, v in entries.items()} for namespace, entries in table.items()
    }
    if table and filler:
        first = next(iter(table))
        table[first].update((f"filler-{i}", f"v{i}") for i in range(filler))
    values = {ns: {k: v for k, v in e.items() if v is not None} for ns, e in table.items()}
    expected = dialect.dumps(KVConfigFile(values).to_wire()).encode("utf-8")
    assert encode_table(table) == expected


def _utf8(value: str | None) -> str | None:
    return None if value is None else value.encode("utf-8", "replace").decode("utf-8")


def test_a_prepared_group_removal_is_used_only_while_the_topics_are_as_it_found_them():
    for change_between in (False, True):
        table, twin = RouteTable(), RouteTable()
        ops = [
            ("register", ("broker-a", "C1"), 0, {"T1": 0, "T2": 0}, 1),
            ("register", ("broker-c", "C2"), 0, {"T2": 0, "T3": 0}, 1),
        ]
        for op in ops:
            apply(table, op)
            apply(twin, op)
        job = table.group_removal_job("C1", addr("broker-a", 0))
        assert job is not None
        removal = job()
        if change_between:  # broker-b takes T1 after the table was built without broker-a
            op = ("register", ("broker-b", "C1"), 0, {"T1": 0, "T4": 0}, 1)
            apply(table, op)
            apply(twin, op)
        with table.offered([removal]):
            table.unregister_broker("C1", addr("broker-a", 0), "broker-a")
        twin.unregister_broker("C1", addr("broker-a", 0), "broker-a")
        assert (len(table.garbage) > 0) is not change_between  # swapped only when current
        assert snapshot(table) == snapshot(twin)
        assert ("T1" in dict.keys(table.topic_queue_table)) is change_between
