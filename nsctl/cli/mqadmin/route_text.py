"""The text layouts mqadmin prints, reproduced for `-o plain` so scripts parsing it keep working."""

from __future__ import annotations

import json
from typing import Any

from nsctl.protocol.models import TopicRouteData

#: Fields that are Java Maps (not beans); fastjson's pretty printer lays them out differently.
_MAP_FIELDS = frozenset(
    {"brokerAddrs", "filterServerTable", "topicQueueMappingByBroker", "currIdMap", "attributes"}
)


def pretty_json(value: Any, depth: int = 0, *, is_map: bool = False) -> str:
    """fastjson's pretty format: TAB indents, bare integer map keys, maps on one line."""
    pad = "\t" * depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        if is_map:
            entries = ",".join(
                f"{_map_key(k)}:{pretty_json(v, depth + 1)}" for k, v in value.items()
            )
            return "{" + entries + "\n" + pad + "}"
        inner = "\t" * (depth + 1)
        entries = ",\n".join(
            f"{inner}{json.dumps(k)}:{pretty_json(v, depth + 1, is_map=k in _MAP_FIELDS)}"
            for k, v in value.items()
        )
        return "{\n" + entries + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = "\t" * (depth + 1)
        return (
            "[\n" + ",\n".join(inner + pretty_json(v, depth + 1) for v in value) + "\n" + pad + "]"
        )
    return json.dumps(value, ensure_ascii=False)


def _map_key(key: Any) -> str:
    return str(key) if isinstance(key, int) else json.dumps(str(key), ensure_ascii=False)


def route_pretty(route: TopicRouteData) -> str:
    """`mqadmin topicRoute -t T` output (without the trailing newline)."""
    return pretty_json(route.to_wire())


def _java_map(addrs: dict[int, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(addrs.items())) + "}"


_ROUTE_ROW = "%-45s %-32s %-50s %-10s %-11s %-5s"


def route_list(route: TopicRouteData) -> list[str]:
    """`mqadmin topicRoute -t T -l`: one row per broker group and a total row."""
    lines = [
        _ROUTE_ROW
        % ("#ClusterName", "#BrokerName", "#BrokerAddrs", "#ReadQueue", "#WriteQueue", "#Perm")
    ]
    read_total = write_total = 0
    for broker in sorted(route.broker_datas, key=lambda b: b.broker_name):
        queue = route.queue_data(broker.broker_name)
        read = queue.read_queue_nums if queue else 0
        write = queue.write_queue_nums if queue else 0
        read_total += read
        write_total += write
        lines.append(
            _ROUTE_ROW
            % (
                broker.cluster,
                broker.broker_name,
                _java_map(broker.broker_addrs),
                read,
                write,
                queue.perm if queue else "",
            )
        )
    lines.append("-" * 158)
    names = len({q.broker_name for q in route.queue_datas})
    lines.append(_ROUTE_ROW % ("Total:", names, "", read_total, write_total, ""))
    return lines


def namesrv_config(address: str, config: dict[str, str]) -> list[str]:
    """`mqadmin getNamesrvConfig` block for one NameServer."""
    return [f"============{address}============"] + [
        "%-50s=  %s" % (key, value) for key, value in config.items()
    ]
