"""The clusterList / brokerStatus text derivation never fails on what a broker sends: any
string in any key gives a row (and at most a reported problem), as the per-broker rule says."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nsctl.cli.mqadmin.broker_text import (
    broker_status_lines,
    cluster_list_lines,
    cluster_more_lines,
    more_stats,
    runtime_columns,
)
from nsctl.cli.views.cluster_list import cluster_list_view, plain_lines
from nsctl.client.broker_fanout import BrokerAnswer, ListedBroker
from nsctl.protocol.broker_models import BrokerRuntimeInfo
from nsctl.protocol.models import BrokerData, ClusterInfo

KEYS = [
    "brokerActive", "putTps", "getTransferredTps", "sendThreadPoolQueueSize",
    "pullThreadPoolQueueSize", "ackThreadPoolQueueSize", "sendThreadPoolQueueHeadWaitTimeMills",
    "pullThreadPoolQueueHeadWaitTimeMills", "ackThreadPoolQueueHeadWaitTimeMills",
    "pageCacheLockTimeMills", "earliestMessageTimeStamp", "commitLogDiskRatio",
    "timerReadBehind", "timerOffsetBehind", "timerCongestNum", "timerEnqueueTps",
    "timerDequeueTps", "brokerVersionDesc", "msgPutTotalTodayMorning",
    "msgPutTotalYesterdayMorning", "msgPutTotalTodayNow", "msgGetTotalTodayMorning",
    "msgGetTotalYesterdayMorning", "msgGetTotalTodayNow",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1 2 ", " 1", "NaN", "-Infinity", "1e400", "9" * 25, "1_0"]),
)
TABLES = st.dictionaries(st.sampled_from(KEYS), VALUES)


@given(TABLES, st.integers(min_value=0, max_value=2**62))
def test_any_runtime_table_gives_a_row(table, now_ms):
    runtime = BrokerRuntimeInfo(table)
    columns = runtime_columns(runtime, now_ms)
    assert all(isinstance(getattr(columns, f), str) for f in ("version", "in_tps", "hour"))
    row = ListedBroker("C", "b", 0, "h:1")
    assert len(cluster_list_lines([(row, columns)])) == 2
    assert len(cluster_more_lines([("C", "b", more_stats(runtime))])) == 2
    view = cluster_list_view(
        ClusterInfo({"b": BrokerData("C", "b", {0: "h:1"})}, {"C": ["b"]}),
        None,
        [row],
        {"h:1": BrokerAnswer("h:1", runtime)},
        now_ms,
    )
    assert plain_lines(view, more=False)[1] == cluster_list_lines([(row, columns)])[1]
    assert all(-(2**63) <= v < 2**63 for v in more_stats(runtime))


@given(st.dictionaries(st.text(max_size=40), st.text(max_size=20)))
def test_broker_status_prints_every_key_once(table):
    lines = broker_status_lines(BrokerRuntimeInfo(table), "h:1")
    assert len(lines) == len(table)
