"""mqadmin 5.3.3's text for the broker views: `clusterList` (and `-m`), `brokerStatus`,
`topicStatus`. Each value is derived as mqadmin derives it, in the same order, so a broker
sending odd values gives the same text; where mqadmin would abort the whole command on one
broker's value, the value stays at its default and a problem is reported for that broker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from nsctl.cli.mqadmin.java_format import (
    fixed,
    hashmap_order,
    java_str,
    left,
    parse_double,
    parse_float,
    parse_long,
    right,
    to_float,
)
from nsctl.client.broker_fanout import ListedBroker
from nsctl.protocol.broker_models import BrokerRuntimeInfo, MessageQueue, TopicOffset, utf16_order
from nsctl.protocol.models import ClusterInfo

CLUSTER_COLUMNS = (
    "#Cluster Name",
    "#Broker Name",
    "#BID",
    "#Addr",
    "#Version",
    "#InTPS(LOAD)",
    "#OutTPS(LOAD)",
    "#Timer(Progress)",
    "#PCWait(ms)",
    "#Hour",
    "#SPACE",
    "#ACTIVATED",
)
MORE_COLUMNS = (
    "#Cluster Name",
    "#Broker Name",
    "#InTotalYest",
    "#OutTotalYest",
    "#InTotalToday",
    "#OutTotalToday",
)


@dataclass
class RuntimeColumns:
    """The eight broker-derived cells of one clusterList row, as mqadmin prints them."""

    version: str
    in_tps: str
    out_tps: str
    timer: str
    pc_wait: str
    hour: str
    space: str
    activated: str
    problems: list[str] = field(default_factory=list)


def _not_blank(text: str | None) -> bool:
    return text is not None and any(not ch.isspace() for ch in text)


def runtime_columns(runtime: BrokerRuntimeInfo | None, now_ms: int) -> RuntimeColumns:
    """The cells for a broker's runtime table; `None` (no answer) gives mqadmin's defaults."""
    version: str | None = ""
    send_q = pull_q = ack_q = send_w = pull_w = ack_w = pc_wait = earliest = ratio = ""
    read_behind = offset_behind = congest = 0
    enqueue = dequeue = 0.0
    active = False
    tps_in = tps_out = 0.0
    problems: list[str] = []
    if runtime is not None:
        t = runtime.table
        active = runtime.active
        put_tps, transferred = t.get("putTps"), t.get("getTransferredTps")
        send_q, pull_q = t.get("sendThreadPoolQueueSize"), t.get("pullThreadPoolQueueSize")
        ack_q = t.get("ackThreadPoolQueueSize", "N")
        send_w = t.get("sendThreadPoolQueueHeadWaitTimeMills")
        pull_w = t.get("pullThreadPoolQueueHeadWaitTimeMills")
        ack_w = t.get("ackThreadPoolQueueHeadWaitTimeMills", "N")
        pc_wait = t.get("pageCacheLockTimeMills")
        earliest, ratio = t.get("earliestMessageTimeStamp"), t.get("commitLogDiskRatio")
        # mqadmin reads the timer figures in this order and silently stops at the first bad one.
        try:
            read_behind = parse_long(t.get("timerReadBehind"))
            offset_behind = parse_long(t.get("timerOffsetBehind"))
            congest = parse_long(t.get("timerCongestNum"))
            enqueue = parse_float(t.get("timerEnqueueTps"))
            dequeue = parse_float(t.get("timerDequeueTps"))
        except ValueError:
            pass
        version = t.get("brokerVersionDesc")
        # A bad TPS figure ends mqadmin's reading of the table (OUT stays 0 after a bad IN).
        try:
            if _not_blank(put_tps):
                tps_in = parse_double(put_tps.split(" ")[0])
            if _not_blank(transferred):
                tps_out = parse_double(transferred.split(" ")[0])
        except ValueError as exc:
            problems.append(f"unreadable TPS figure: {exc}")
    hour = space = 0.0
    if earliest:
        try:
            hour = (now_ms - parse_long(earliest)) / 1000.0 / 60.0 / 60.0
        except ValueError as exc:
            problems.append(f"earliestMessageTimeStamp: {exc}")
    if ratio:
        try:
            space = parse_double(ratio)
        except ValueError as exc:
            problems.append(f"commitLogDiskRatio: {exc}")
    j = java_str
    congest_w = to_float(to_float(congest) / 10000.0)
    return RuntimeColumns(
        version=j(version),
        in_tps=f"{right(fixed(tps_in, 2), 9)}({j(send_q)},{j(send_w)}ms)",
        out_tps=f"{right(fixed(tps_out, 2), 9)}({j(pull_q)},{j(pull_w)}ms|{j(ack_q)},{j(ack_w)}ms)",
        timer=f"{read_behind}-{offset_behind}({fixed(congest_w, 1)}w, "
        f"{fixed(enqueue, 1)}, {fixed(dequeue, 1)})",
        pc_wait=j(pc_wait),
        hour=fixed(hour, 2),
        space=fixed(space, 4),
        activated=j(active),
        problems=problems,
    )


def _base_line(cells: Iterable[object], header: bool) -> str:
    c = list(cells)
    pc_wait = left(c[8], 11) if header else right(c[8], 11)
    activated = left(c[11], 10) if header else right(c[11], 10)
    return (
        f"{left(c[0], 22)}  {left(c[1], 22)}  {left(c[2], 4)}  {left(c[3], 22)} {left(c[4], 16)}"
        f"  {right(c[5], 16)}  {right(c[6], 30)}  {left(c[7], 22)}  {pc_wait}  {left(c[9], 12)}"
        f"  {left(c[10], 8)}  {activated}"
    )


def _more_line(cells: Iterable[object]) -> str:
    c = list(cells)
    return (
        f"{left(c[0], 16)}  {left(c[1], 32)} {right(c[2], 14)} {right(c[3], 14)} "
        f"{right(c[4], 14)} {right(c[5], 14)}"
    )


def mqadmin_rows(info: ClusterInfo, cluster: str | None = None) -> list[ListedBroker]:
    """The rows of `mqadmin clusterList` in its order: clusters in the order of the Java
    HashMap it decodes, broker names sorted, ids in HashMap order. With `cluster`, only that
    one (no rows when it does not exist)."""
    clusters = [cluster] if cluster is not None else hashmap_order(info.cluster_addr_table)
    rows = []
    for name in clusters:
        for broker_name in sorted(info.cluster_addr_table.get(name, ()), key=utf16_order):
            broker = info.broker_addr_table.get(broker_name)
            if broker is None:
                continue
            for broker_id in hashmap_order(broker.broker_addrs):
                rows.append(
                    ListedBroker(name, broker_name, broker_id, broker.broker_addrs[broker_id])
                )
    return rows


def cluster_list_lines(rows: Iterable[tuple[ListedBroker, RuntimeColumns]]) -> list[str]:
    """`mqadmin clusterList`: the header and one line per broker address with its cells."""
    lines = [_base_line(CLUSTER_COLUMNS, header=True)]
    for broker, c in rows:
        lines.append(
            _base_line(
                (
                    broker.cluster,
                    broker.broker_name,
                    broker.broker_id,
                    broker.address,
                    c.version,
                    c.in_tps,
                    c.out_tps,
                    c.timer,
                    c.pc_wait,
                    c.hour,
                    c.space,
                    c.activated,
                ),
                header=False,
            )
        )
    return lines


def cluster_names_lines(rows: Iterable[ListedBroker]) -> list[str]:
    """`clusterList --no-stats`: mqadmin's first four columns only, the ones the NameServer
    knows (its other columns are figures the brokers were not asked for)."""

    def line(cells: tuple[object, ...]) -> str:
        c = cells
        return f"{left(c[0], 22)}  {left(c[1], 22)}  {left(c[2], 4)}  {left(c[3], 22)}".rstrip()

    lines = [line(CLUSTER_COLUMNS[:4])]
    for b in rows:
        lines.append(line((b.cluster, b.broker_name, b.broker_id, b.address)))
    return lines


def more_stats(runtime: BrokerRuntimeInfo | None) -> tuple[int, int, int, int]:
    """(in yesterday, out yesterday, in today, out today), computed in mqadmin's order; the
    first failure (no answer, a missing or bad key) leaves it and the rest at 0."""
    values = [0, 0, 0, 0]
    if runtime is None:
        return (0, 0, 0, 0)
    t = runtime.table
    pairs = (
        ("msgPutTotalTodayMorning", "msgPutTotalYesterdayMorning"),
        ("msgGetTotalTodayMorning", "msgGetTotalYesterdayMorning"),
        ("msgPutTotalTodayNow", "msgPutTotalTodayMorning"),
        ("msgGetTotalTodayNow", "msgGetTotalTodayMorning"),
    )
    try:
        for index, (later, earlier) in enumerate(pairs):
            values[index] = _wrap_long(parse_long(t.get(later)) - parse_long(t.get(earlier)))
    except ValueError:
        pass
    return values[0], values[1], values[2], values[3]


def _wrap_long(value: int) -> int:
    """Java long subtraction wraps around."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >> 63 else value


def cluster_more_lines(rows: Iterable[tuple[str, str, tuple[int, int, int, int]]]) -> list[str]:
    """`mqadmin clusterList -m`: (cluster, broker name, figures) per broker address."""
    lines = [_more_line(MORE_COLUMNS)]
    for cluster, broker_name, figures in rows:
        lines.append(_more_line((cluster, broker_name, *figures)))
    return lines


def broker_status_lines(runtime: BrokerRuntimeInfo, prefix: str | None = None) -> list[str]:
    """`mqadmin brokerStatus`: every key sorted (Java String order), value as sent; with `-c`
    each line starts with the broker address."""
    lines = []
    for key in sorted(runtime.table, key=utf16_order):
        line = f"{left(key, 32)}: {runtime.table[key]}"
        lines.append(f"{left(prefix, 24)} {line}" if prefix is not None else line)
    return lines


def cluster_status_addresses(info: ClusterInfo, cluster: str) -> list[str] | None:
    """The addresses `mqadmin brokerStatus -c` visits, in its (HashSet) order; None when the
    cluster is unknown."""
    names = info.cluster_addr_table.get(cluster)
    if names is None:
        return None
    inserted = []
    for broker_name in hashmap_order(names):
        broker = info.broker_addr_table.get(broker_name)
        if broker is not None:
            inserted += [broker.broker_addrs[i] for i in hashmap_order(broker.broker_addrs)]
    return hashmap_order(inserted)


def human_time(millis: int) -> str:
    """`UtilAll.timeMillisToHumanString2`: local time, `yyyy-MM-dd HH:mm:ss,SSS`."""
    moment = datetime.fromtimestamp(millis / 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{millis % 1000:03d}"


def java_double(value: float) -> str:
    """Java's `Double.toString`: plain between 10^-3 and 10^7, else `d.dddE<n>`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    scientific = len(digits) + int(exponent) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{scientific}"


def topic_status_lines(offsets: Mapping[MessageQueue, TopicOffset], put_tps: float) -> list[str]:
    """`mqadmin topicStatus -t T`: one line per queue (sorted as MessageQueue sorts), then an
    empty line and the topic's put TPS."""
    lines = [
        f"{left('#Broker Name', 32)}  {left('#QID', 4)}  {left('#Min Offset', 20)}  "
        f"{left('#Max Offset', 20)}    #Last Updated"
    ]
    for queue in sorted(offsets, key=MessageQueue.sort_key):
        offset = offsets[queue]
        stamp = human_time(offset.last_update_timestamp) if offset.last_update_timestamp > 0 else ""
        lines.append(
            f"{left(queue.broker_name[:32], 32)}  {left(queue.queue_id, 4)}  "
            f"{left(offset.min_offset, 20)}  {left(offset.max_offset, 20)}    {stamp}"
        )
    lines += ["", f"Topic Put TPS: {java_double(put_tps)}"]
    return lines
