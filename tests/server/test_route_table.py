"""RouteTable semantics, pure and fast (no sockets): 5.3.3 rules and the quirks of §12.3."""

from __future__ import annotations

from nsctl.protocol import dialect
from nsctl.protocol.models import QueueData, TopicQueueMappingInfo
from nsctl.protocol.register import DataVersion, TopicConfig
from nsctl.server.route_table import DEFAULT_BROKER_TIMEOUT_MS, Registration, RouteTable

CLUSTER = "DefaultCluster"
MASTER = "10.0.0.1:10911"
SLAVE = "10.0.0.2:10911"


def reg(
    *,
    name: str = "broker-a",
    addr: str = MASTER,
    broker_id: int = 0,
    cluster: str = CLUSTER,
    topics: dict[str, int] | None = None,
    perm: int = 6,
    version: DataVersion | None = None,
    **extra,
) -> Registration:
    topics = {"TopicTest": 4, "TBW102": 8} if topics is None else topics
    return Registration(
        cluster_name=cluster,
        broker_addr=addr,
        broker_name=name,
        broker_id=broker_id,
        ha_server_addr=addr.replace("10911", "10912"),
        topics={t: TopicConfig(t, n, n, perm) for t, n in topics.items()},
        data_version=version or DataVersion(1, 100, 0),
        **extra,
    )


def table_with_master_and_slave() -> RouteTable:
    table = RouteTable()
    table.register_broker(reg(), conn="c-master", now=0)
    table.register_broker(reg(addr=SLAVE, broker_id=1), conn="c-slave", now=0)
    return table


# ---------------------------------------------------------------------------------------------
# Registration


def test_master_registration_creates_cluster_group_and_topics():
    table = RouteTable()
    outcome = table.register_broker(reg(), conn="c1", now=5)
    assert outcome.accepted and outcome.master_addr is None and outcome.ha_server_addr is None
    assert table.cluster_addr_table == {CLUSTER: {"broker-a"}}
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: MASTER}
    assert set(table.topic_queue_table) == {"TopicTest", "TBW102"}
    live = table.broker_live_table[(CLUSTER, MASTER)]
    assert (live.last_update, live.timeout_ms, live.conn) == (5, DEFAULT_BROKER_TIMEOUT_MS, "c1")


def test_slave_learns_master_and_its_ha_address_but_writes_no_topics():
    table = RouteTable()
    table.register_broker(reg(topics={}), conn="m", now=0)
    outcome = table.register_broker(
        reg(addr=SLAVE, broker_id=1, topics={"Other": 1, "More": 1}), conn="s", now=0
    )
    assert (outcome.master_addr, outcome.ha_server_addr) == (MASTER, "10.0.0.1:10912")
    assert "Other" not in table.topic_queue_table  # slaves never change topic data


def test_slave_without_live_master_gets_no_master_fields():
    table = RouteTable()
    outcome = table.register_broker(reg(addr=SLAVE, broker_id=1), conn="s", now=0)
    assert outcome.accepted and outcome.master_addr is None and outcome.ha_server_addr is None


def test_first_registration_with_exactly_one_topic_is_rejected_and_leaves_empty_group():
    table = RouteTable()
    outcome = table.register_broker(reg(topics={"Only": 1}), conn="c", now=0)
    assert not outcome.accepted
    assert table.broker_addr_table["broker-a"].broker_addrs == {}
    assert table.topic_queue_table == {}
    assert (CLUSTER, MASTER) not in table.broker_live_table
    # Zero or two topics are fine, and once known a single-topic refresh is accepted too.
    assert table.register_broker(reg(topics={}), conn="c", now=0).accepted
    assert table.register_broker(reg(topics={"Only": 1}), conn="c", now=0).accepted


def test_unchanged_data_version_does_not_rewrite_existing_queue_data():
    table = RouteTable()
    table.register_broker(reg(), conn="c", now=0)
    assert table.wipe_write_perm("broker-a") == 2
    table.register_broker(reg(), conn="c", now=1)
    assert table.topic_queue_table["TopicTest"]["broker-a"].perm == 4  # the wipe sticks


def test_changed_data_version_rewrites_queue_data():
    table = RouteTable()
    table.register_broker(reg(), conn="c", now=0)
    table.wipe_write_perm("broker-a")
    table.register_broker(reg(version=DataVersion(2, 200, 0)), conn="c", now=1)
    assert table.topic_queue_table["TopicTest"]["broker-a"].perm == 6


def test_deleted_topic_comes_back_on_next_registration_even_if_version_unchanged():
    table = RouteTable()
    table.register_broker(reg(), conn="c", now=0)
    table.delete_topic("TopicTest")
    assert "TopicTest" not in table.topic_queue_table
    table.register_broker(reg(), conn="c", now=1)
    assert "TopicTest" in table.topic_queue_table


def test_topics_no_longer_reported_stay_unless_delete_with_registration():
    table = RouteTable()
    table.register_broker(reg(), conn="c", now=0)
    table.register_broker(
        reg(topics={"TBW102": 8, "New": 1}, version=DataVersion(2, 2, 0)), conn="c", now=1
    )
    assert "TopicTest" in table.topic_queue_table
    table.register_broker(
        reg(topics={"TBW102": 8, "New": 1}, version=DataVersion(3, 3, 0)),
        conn="c",
        now=2,
        delete_topic_with_registration=True,
    )
    assert set(table.topic_queue_table) == {"TBW102", "New"}


def test_promoted_slave_address_moves_to_new_id():
    table = table_with_master_and_slave()
    table.register_broker(reg(addr=SLAVE, broker_id=0), conn="c-slave", now=1)
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: SLAVE}


def test_conflict_guard_ignores_registration_with_older_state_version():
    table = RouteTable()
    table.register_broker(reg(version=DataVersion(1, 1, 5)), conn="old", now=0)
    outcome = table.register_broker(
        reg(addr=SLAVE, version=DataVersion(1, 1, 2)), conn="new", now=1
    )
    assert outcome.accepted and outcome.master_addr is None
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: MASTER}
    assert (CLUSTER, SLAVE) not in table.broker_live_table


def test_registration_keeps_header_timeout_acting_master_and_zone():
    table = RouteTable()
    table.register_broker(
        reg(timeout_ms=10_000, enable_acting_master=True, zone_name="z1"), conn="c", now=0
    )
    broker = table.broker_addr_table["broker-a"]
    assert broker.enable_acting_master is True and broker.zone_name == "z1"
    assert table.broker_live_table[(CLUSTER, MASTER)].timeout_ms == 10_000
    # A 4.x broker (no header field) resets the flag to false.
    table.register_broker(reg(), conn="c", now=1)
    assert broker.enable_acting_master is False and broker.zone_name is None


def test_prime_slave_of_acting_master_group_writes_read_only_queues():
    table = RouteTable()
    table.register_broker(
        reg(addr=SLAVE, broker_id=1, enable_acting_master=True, topics={"T": 2, "U": 2}),
        conn="s",
        now=0,
    )
    assert table.topic_queue_table["T"]["broker-a"].perm == 4


def test_static_topic_mappings_are_stored_when_version_changes():
    info = TopicQueueMappingInfo(topic="S", bname="broker-a", total_queues=2, curr_id_map={0: 0})
    table = RouteTable()
    table.register_broker(reg(topic_queue_mappings={"S": info}), conn="c", now=0)
    assert table.topic_queue_mapping_info_table == {"S": {"broker-a": info}}


def test_filter_servers_stored_and_cleared():
    table = RouteTable()
    table.register_broker(reg(filter_servers=["10.0.0.9:1"]), conn="c", now=0)
    assert table.topic_route("TopicTest").filter_server_table == {MASTER: ["10.0.0.9:1"]}
    table.register_broker(reg(filter_servers=[]), conn="c", now=1)
    assert table.topic_route("TopicTest").filter_server_table == {}


# ---------------------------------------------------------------------------------------------
# Unregistration, liveness


def test_unregister_slave_keeps_group_and_topics():
    table = table_with_master_and_slave()
    table.unregister_broker(CLUSTER, SLAVE, "broker-a")
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: MASTER}
    assert "TopicTest" in table.topic_queue_table


def test_unregister_last_broker_removes_group_cluster_and_topics():
    table = table_with_master_and_slave()
    table.unregister_broker(CLUSTER, SLAVE, "broker-a")
    table.unregister_broker(CLUSTER, MASTER, "broker-a")
    assert table.broker_addr_table == {} and table.cluster_addr_table == {}
    assert table.topic_queue_table == {} and table.broker_live_table == {}
    table.unregister_broker(CLUSTER, MASTER, "broker-a")  # again: harmless


def test_unregister_removes_by_address_not_by_id():
    table = table_with_master_and_slave()
    table.unregister_broker(CLUSTER, SLAVE, "broker-a")  # whatever id it is under
    assert SLAVE not in table.broker_addr_table["broker-a"].broker_addrs.values()


def test_master_leaving_acting_master_group_wipes_write_bit():
    table = RouteTable()
    table.register_broker(reg(enable_acting_master=True), conn="m", now=0)
    table.register_broker(reg(addr=SLAVE, broker_id=1, enable_acting_master=True), conn="s", now=0)
    table.unregister_broker(CLUSTER, MASTER, "broker-a")
    assert table.topic_queue_table["TopicTest"]["broker-a"].perm == 4


def test_query_data_version_reports_change_and_always_refreshes():
    table = RouteTable()
    assert table.query_data_version(CLUSTER, MASTER, DataVersion(1, 100, 0), 5) == (True, None)
    table.register_broker(reg(), conn="c", now=0)
    changed, stored = table.query_data_version(CLUSTER, MASTER, DataVersion(1, 100, 0), 7)
    assert not changed and stored == DataVersion(1, 100, 0)
    changed, _ = table.query_data_version(CLUSTER, MASTER, DataVersion(2, 100, 0), 9)
    assert changed
    assert table.broker_live_table[(CLUSTER, MASTER)].last_update == 9
    # A different cluster name refreshes nothing.
    assert table.query_data_version("Other", MASTER, None, 11) == (True, None)


def test_heartbeat_refreshes_only_exact_cluster_and_address():
    table = RouteTable()
    table.register_broker(reg(), conn="c", now=0)
    assert table.broker_heartbeat(CLUSTER, MASTER, 50)
    assert not table.broker_heartbeat("Other", MASTER, 60)
    assert table.broker_live_table[(CLUSTER, MASTER)].last_update == 50


def test_scan_expires_by_per_broker_timeout():
    table = RouteTable()
    table.register_broker(reg(timeout_ms=1_000), conn="m", now=0)
    table.register_broker(reg(addr=SLAVE, broker_id=1), conn="s", now=0)
    assert table.scan_not_active(1_000) == []  # expiry needs last + timeout < now
    expired = table.scan_not_active(1_001)
    assert [(e.broker_addr, e.conn) for e in expired] == [(MASTER, "m")]
    assert table.broker_addr_table["broker-a"].broker_addrs == {1: SLAVE}
    assert [e.broker_addr for e in table.scan_not_active(DEFAULT_BROKER_TIMEOUT_MS + 1)] == [SLAVE]
    assert table.broker_addr_table == {}


def test_connection_close_drops_its_brokers_only():
    table = table_with_master_and_slave()
    assert table.connection_closed("someone-else") == []
    assert table.connection_closed("c-slave") == [(CLUSTER, SLAVE)]
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: MASTER}


def test_reregistration_moves_liveness_to_the_new_connection():
    table = RouteTable()
    table.register_broker(reg(), conn="first", now=0)
    table.register_broker(reg(), conn="second", now=1)
    assert table.connection_closed("first") == []
    assert table.connection_closed("second") == [(CLUSTER, MASTER)]


# ---------------------------------------------------------------------------------------------
# Routes


def test_route_lists_queue_data_of_vanished_brokers_only_if_one_broker_remains():
    table = table_with_master_and_slave()
    table.register_broker(reg(name="broker-b", addr="10.0.0.3:10911"), conn="b", now=0)
    table.broker_addr_table.pop("broker-b")  # BrokerData gone, QueueData left
    route = table.topic_route("TopicTest")
    assert {q.broker_name for q in route.queue_datas} == {"broker-a", "broker-b"}
    assert [b.broker_name for b in route.broker_datas] == ["broker-a"]
    table.broker_addr_table.pop("broker-a")
    assert table.topic_route("TopicTest") is None


def test_route_of_unknown_or_missing_topic_is_none():
    table = table_with_master_and_slave()
    assert table.topic_route("Nope") is None
    assert table.topic_route(None) is None
    assert table.encoded_route("Nope", standard_json=True) is None


def test_encoded_route_standard_vs_bare_keys_and_order_conf():
    table = table_with_master_and_slave()
    standard = table.encoded_route("TopicTest", standard_json=True, order_topic_conf="broker-a:4")
    bare = table.encoded_route("TopicTest", standard_json=False)
    assert b'"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}' in standard
    assert b'"orderTopicConf":"broker-a:4"' in standard
    assert b'"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}' in bare
    assert b"orderTopicConf" not in bare
    assert dialect.loads(standard)["queueDatas"][0]["perm"] == 6


def test_standard_route_escapes_non_ascii_upper_case():
    table = RouteTable()
    table.register_broker(reg(topics={"t": 1, "u": 1}), conn="c", now=0)
    body = table.encoded_route("t", standard_json=True, order_topic_conf="é中")
    assert b'"orderTopicConf":"\\u00E9\\u4E2D"' in body


def test_route_cache_is_invalidated_by_every_change():
    table = table_with_master_and_slave()
    before = table.encoded_route("TopicTest", standard_json=True)
    assert table.encoded_route("TopicTest", standard_json=True) is before  # cached
    table.wipe_write_perm("broker-a")
    assert b'"perm":4' in table.encoded_route("TopicTest", standard_json=True)
    table.add_write_perm("broker-a")
    assert b'"perm":6' in table.encoded_route("TopicTest", standard_json=True)
    table.unregister_broker(CLUSTER, SLAVE, "broker-a")
    assert SLAVE.encode() not in table.encoded_route("TopicTest", standard_json=True)
    info = table.encoded_cluster_info()
    table.register_broker(reg(addr=SLAVE, broker_id=1), conn="s", now=2)
    assert table.encoded_cluster_info() != info


def test_acting_master_rule_promotes_smallest_slave_for_read_only_groups():
    table = RouteTable()
    table.register_broker(reg(addr=SLAVE, broker_id=1, enable_acting_master=True), conn="s", now=0)
    route = table.topic_route("TopicTest", acting_master=True)
    assert route.broker_datas[0].broker_addrs == {0: SLAVE}
    assert table.topic_route("TopicTest", acting_master=False).broker_datas[0].broker_addrs == {
        1: SLAVE
    }
    # The member-group topic is never rewritten, and the stored table is untouched.
    table.register_broker(
        reg(
            addr=SLAVE,
            broker_id=1,
            enable_acting_master=True,
            topics={"rmq_sys_SYNC_BROKER_MEMBER_broker-a": 1, "x": 1},
            version=DataVersion(9, 9, 0),
        ),
        conn="s",
        now=1,
    )
    member = table.topic_route("rmq_sys_SYNC_BROKER_MEMBER_broker-a", acting_master=True)
    assert member.broker_datas[0].broker_addrs == {1: SLAVE}
    assert table.broker_addr_table["broker-a"].broker_addrs == {1: SLAVE}


def test_acting_master_rule_leaves_writable_groups_alone():
    table = RouteTable()
    table.register_broker(reg(addr=SLAVE, broker_id=1, enable_acting_master=True), conn="s", now=0)
    table.add_write_perm("broker-a")
    assert table.topic_route("TopicTest", acting_master=True).broker_datas[0].broker_addrs == {
        1: SLAVE
    }


# ---------------------------------------------------------------------------------------------
# Lists, perms, topics, member groups


def test_topic_lists():
    table = table_with_master_and_slave()
    table.register_broker(
        reg(name="broker-b", addr="10.0.0.3:10911", cluster="C2", topics={"B1": 1, "B2": 1}),
        conn="b",
        now=0,
    )
    assert set(table.all_topics()) == {"TopicTest", "TBW102", "B1", "B2"}
    assert set(table.topics_by_cluster(CLUSTER)) == {"TopicTest", "TBW102"}
    assert table.topics_by_cluster("NoCluster") == []
    topics, addr = table.system_topics()
    assert set(topics) == {CLUSTER, "broker-a", "C2", "broker-b"}
    assert addr in (MASTER, "10.0.0.3:10911")


def test_unit_topic_lists_look_at_first_queue_data_only():
    table = RouteTable()
    table.topic_queue_table = {
        "unit": {"a": QueueData("a", topic_sys_flag=1), "b": QueueData("b", topic_sys_flag=0)},
        "sub": {"a": QueueData("a", topic_sys_flag=2)},
        "both": {"a": QueueData("a", topic_sys_flag=3)},
        "late": {"a": QueueData("a", topic_sys_flag=0), "b": QueueData("b", topic_sys_flag=1)},
    }
    assert set(table.unit_topics(unit=True, unit_sub=None)) == {"unit", "both"}
    assert set(table.unit_topics(unit=None, unit_sub=True)) == {"sub", "both"}
    assert table.unit_topics(unit=False, unit_sub=True) == ["sub"]


def test_wipe_clears_only_write_bit_and_add_sets_exactly_six():
    table = RouteTable()
    table.register_broker(reg(perm=15), conn="c", now=0)
    assert table.wipe_write_perm("broker-a") == 2
    assert table.topic_queue_table["TopicTest"]["broker-a"].perm == 13
    assert table.add_write_perm("broker-a") == 2
    assert table.topic_queue_table["TopicTest"]["broker-a"].perm == 6
    assert table.wipe_write_perm("nobroker") == 0 and table.add_write_perm(None) == 0


def test_delete_topic_by_cluster_or_entirely():
    table = table_with_master_and_slave()
    table.register_broker(
        reg(name="broker-b", addr="10.0.0.3:10911", cluster="C2"), conn="b", now=0
    )
    table.delete_topic("TopicTest", "NoCluster")
    assert set(table.topic_queue_table["TopicTest"]) == {"broker-a", "broker-b"}
    table.delete_topic("TopicTest", CLUSTER)
    assert set(table.topic_queue_table["TopicTest"]) == {"broker-b"}
    table.delete_topic("TopicTest", "C2")
    assert "TopicTest" not in table.topic_queue_table
    table.delete_topic("TBW102")
    assert "TBW102" not in table.topic_queue_table


def test_register_topic_new_is_all_or_nothing_existing_stops_at_unknown_broker():
    table = table_with_master_and_slave()
    table.register_topic("New", [QueueData("broker-a", 2, 2), QueueData("ghost", 1, 1)])
    assert "New" not in table.topic_queue_table
    table.register_topic("New", [QueueData("broker-a", 2, 2)])
    assert table.topic_queue_table["New"]["broker-a"].read_queue_nums == 2
    table.register_topic("New", [QueueData("broker-a", 3, 3), QueueData("ghost", 1, 1)])
    assert table.topic_queue_table["New"]["broker-a"].read_queue_nums == 3
    assert "ghost" not in table.topic_queue_table["New"]
    table.register_topic("New", [])  # no-op


def test_broker_member_group():
    table = table_with_master_and_slave()
    assert table.broker_member_group("broker-a") == {0: MASTER, 1: SLAVE}
    assert table.broker_member_group("nobroker") == {}
