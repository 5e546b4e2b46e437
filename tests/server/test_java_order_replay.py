"""Byte-exact order of lists and maps in answers, against a real 5.3.3 NameServer's.

The capture (tests/data/frames-5.3.3-order) holds three real REGISTER_BROKER frames (broker-a,
broker-z in DefaultCluster, broker-m in OtherCluster, 61 topics each) and then every list and route
question, with Java's answers. Java's order there follows its HashMap/ConcurrentHashMap iteration,
so replaying the frames in order against `nsctl serve` must give the very same body bytes.
"""

from __future__ import annotations

import json

from nsctl.protocol import dialect, frame
from nsctl.protocol.command import RemotingCommand
from tests.conftest import frames_dir
from tests.server.wire import WireClient, register_request, request


def _captured() -> list[tuple[dict, bytes, RemotingCommand]]:
    folder = frames_dir("5.3.3-order")
    metas = [json.loads(line) for line in (folder / "frames.jsonl").read_text().splitlines()]
    responses = {
        m["nn"]: frame.decode((folder / m["file"]).read_bytes())
        for m in metas
        if m["kind"] == "response"
    }
    return [
        (m, (folder / m["file"]).read_bytes(), responses[m["nn"]])
        for m in metas
        if m["kind"] == "request"
    ]


def test_replay_gives_javas_bytes_in_javas_order(serve_process):
    exchanges = _captured()
    clients: dict[int, WireClient] = {}
    mismatches = []
    try:
        for meta, raw, theirs in exchanges:
            client = clients.get(meta["conn"])
            if client is None:
                client = clients[meta["conn"]] = WireClient(serve_process.address)
            client.send_raw(raw)
            ours = client.recv()
            mine, java = ours.body or b"", theirs.body or b""
            if (ours.code, mine) != (theirs.code, java):
                mismatches.append(
                    f"{meta['file']}: code {ours.code} (Java {theirs.code})\n"
                    f"  ours: {mine.decode()}\n  Java: {java.decode()}"
                )
    finally:
        for client in clients.values():
            client.close()
    assert not mismatches, "\n".join(mismatches)


def test_capture_orders_differ_from_insertion_and_sorting():
    """The capture can tell a Java-order server from a naive one: its lists are neither in
    registration order nor sorted."""
    bodies = {m["request_name"]: dialect.loads(r.body) for m, _, r in _captured() if r.body}
    topics = bodies["GET_ALL_TOPIC_LIST_FROM_NAMESERVER"]["topicList"]
    assert topics != sorted(topics)
    cluster = bodies["GET_BROKER_CLUSTER_INFO"]
    assert list(cluster["brokerAddrTable"]) == ["broker-m", "broker-a", "broker-z"]
    assert cluster["clusterAddrTable"]["DefaultCluster"] == ["broker-z", "broker-a"]


def test_system_topic_list_takes_the_first_broker_in_java_order(serve_process):
    """broker-a sorts before broker-z in Java's broker table whatever the registration order,
    and its first address (by id in the HashMap) is the one answered."""
    with WireClient(serve_process.address) as client:
        for name, addr in [("broker-z", "127.0.0.1:20911"), ("broker-a", "127.0.0.1:10911")]:
            for broker_id, port_shift in [(1, 1), (0, 0)]:
                host, port = addr.rsplit(":", 1)
                answer = client.call(
                    register_request(
                        broker_name=name,
                        broker_addr=f"{host}:{int(port) + port_shift}",
                        broker_id=broker_id,
                    )
                )
                assert answer.code == 0
        body = dialect.loads(client.call(request(304)).body)
    assert body["brokerAddr"] == "127.0.0.1:10911"
    # The same relative order as in the capture, where OtherCluster and broker-m sit between.
    assert body["topicList"] == ["broker-z", "broker-a", "DefaultCluster"]
