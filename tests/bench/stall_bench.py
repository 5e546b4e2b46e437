"""Event-loop stall benchmark of `nsctl serve` (a script; pytest does not collect tests/bench).

    .venv/bin/python tests/bench/stall_bench.py [--quick] [--compressed] [--kv-writes 300]
        [--brokers 10] [--topics 10000]

Starts one `nsctl serve --port 0 --broker-expire 2 --scan-interval 0.5` process on 127.0.0.1 and
a prober process that sends one GET_ROUTEINFO_BY_TOPIC every 2 ms (for a topic of a small broker
registered first, which stays)
on its own connection, without waiting for the previous answer (so a stall is seen by every
request it holds up), and records each answer's latency, send to answer. Meanwhile this process
drives, one request at a time and with a 50 ms gap after each big one, in phases:

* idle: nothing (the prober's floor);
* register: the first registration of N brokers x 10,000 topics (10 in full, 2 with --quick;
  10,000 own topics each, bodies built as scale_bench.py builds them, JSON by default as a Java
  broker sends them, `--compressed` for compressed bodies), then the first topic list and
  cluster info;
* re-register: each broker again with a new DataVersion and every queue count changed (8 -> 4),
  so every QueueData is rewritten; after each, the first GET_ALL_TOPIC_LIST_FROM_NAMESERVER and
  GET_BROKER_CLUSTER_INFO;
* kv: `--kv-writes` PUT_KV_CONFIG (each rewrites and fsyncs the KV file);
* expiry: some brokers (3 in full, 1 with --quick) send a last, unchanged registration without
  heartbeatTimeoutMillis (so the server's --broker-expire of 2 s applies; the others send
  600,000 ms, as Java brokers send their own) and go silent; the 0.5 s scan drops them and
  closes their connections; then the first topic list and cluster info.

Prints per phase and overall the prober's p50 / p99 / max beside the targets (p99 <= 5 ms,
max <= 30 ms), per kind of operation how long it took (registrations in topics/s) and the worst
probe latency while one ran, the server's CPU per phase, and the ten worst probes with what
was running. All frames are built before the prober starts; the whole run is bounded (the
prober stops itself after 240 s).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchlib import cpu_seconds, rss_mib, start_serve  # noqa: E402

from nsctl.protocol import frame  # noqa: E402
from nsctl.protocol.command import RemotingCommand  # noqa: E402
from nsctl.protocol.register import (  # noqa: E402
    DataVersion,
    RegisterBrokerBody,
    TopicConfig,
    body_crc32,
)

TOPICS_PER_BROKER = 10_000
INTERVAL = 0.002  # the prober's period
GAP = 0.05  # pause after each big operation, so that a stall can be told to one
PROBER_LIMIT = 240.0  # seconds: the prober stops itself after this whatever happens
TARGET_P99, TARGET_MAX = 5.0, 30.0  # ms, from the issue
LONG_TIMEOUT_MS = "600000"  # heartbeatTimeoutMillis of the brokers that stay
REQUEST_TIMEOUT = 60.0


# --------------------------------------------------------------------------------------------
# The prober (runs as `stall_bench.py --probe HOST PORT TOPIC`, a process of its own)


def probe(host: str, port: int, topic: str) -> None:
    """Send a route query every INTERVAL until stdin closes; print JSON samples on stdout:
    [[send time (time.monotonic), latency s, response code], ...] and the counts."""
    # Its own collections would show as latency: it makes no cycles worth collecting.
    gc.disable()
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    requests = {}
    samples: list[tuple[float, float, int]] = []
    pending = bytearray()
    skipped = 0
    late_max = 0.0
    opaque = 0
    start = time.monotonic()
    slot = 0
    stdin = sys.stdin.fileno()
    running = True
    while running:
        now = time.monotonic()
        due = start + slot * INTERVAL
        if now >= due:
            if now - due > INTERVAL:  # this process was held up: skip the missed slots
                missed = int((now - due) / INTERVAL)
                skipped += missed
                slot += missed
            late_max = max(late_max, now - due)
            opaque += 1
            data = frame.encode(
                RemotingCommand(code=105, opaque=opaque, ext_fields={"topic": topic})
            )
            requests[opaque] = time.monotonic()
            _send(sock, data)
            slot += 1
            if now - start > PROBER_LIMIT:
                break
            continue
        readable, _, _ = select.select([sock, stdin], [], [], max(due - now, 0))
        if sock in readable and not _receive(sock, pending, requests, samples):
            break
        if stdin in readable and not os.read(stdin, 1024):
            running = False
    # Collect what is still in flight for a moment, then report.
    deadline = time.monotonic() + 1.0
    while requests and time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable and not _receive(sock, pending, requests, samples):
            break
    json.dump(
        {"samples": samples, "lost": len(requests), "skipped": skipped, "late_max": late_max},
        sys.stdout,
    )


def _receive(
    sock: socket.socket,
    pending: bytearray,
    requests: dict[int, float],
    samples: list[tuple[float, float, int]],
) -> bool:
    """Read what arrived; each complete answer becomes a sample. False: the server closed."""
    chunk = sock.recv(1 << 20)
    received = time.monotonic()
    if not chunk:
        return False
    pending += chunk
    while len(pending) >= 4:
        size = int.from_bytes(pending[:4], "big") + 4
        if len(pending) < size:
            break
        answer = frame.decode(bytes(pending[:size]))
        del pending[:size]
        sent = requests.pop(answer.opaque, None)
        if sent is not None:
            samples.append((sent, received - sent, answer.code))
    return True


def _send(sock: socket.socket, data: bytes) -> None:
    # A 100-byte request into an empty socket buffer; should the server stop reading for long
    # enough to fill it, wait for room rather than drop the request.
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            select.select([], [sock], [], 1.0)


# --------------------------------------------------------------------------------------------
# Frames


def register_body(prefix: str, version: int, queues: int, compressed: bool) -> bytes:
    """A RegisterBrokerBody of TOPICS_PER_BROKER topics, as scale_bench.register_frame makes it,
    with `queues` read and write queues each."""
    body = RegisterBrokerBody()
    wrapper = body.topic_config_serialize_wrapper
    wrapper.data_version = DataVersion(version, 1_700_000_000_000 + version, 0)
    for i in range(TOPICS_PER_BROKER):
        topic = f"{prefix}-topic-{i:05d}"
        wrapper.topic_config_table[topic] = TopicConfig(topic, queues, queues)
    return body.encode_compressed() if compressed else body.encode()


def register_frame(name: str, addr: str, raw: bytes, *, compressed: bool, timeout: bool) -> bytes:
    ext = {
        "brokerName": name,
        "brokerAddr": addr,
        "clusterName": "DefaultCluster",
        "haServerAddr": addr.rsplit(":", 1)[0] + ":1",
        "brokerId": "0",
        "compressed": "true" if compressed else "false",
        "bodyCrc32": str(body_crc32(raw)),
    }
    if timeout:
        ext["heartbeatTimeoutMillis"] = LONG_TIMEOUT_MS
    return frame.encode(RemotingCommand(code=103, ext_fields=ext, body=raw, version=479))


@dataclass
class Broker:
    name: str
    addr: str
    first: bytes
    changed: bytes
    last: bytes  # the changed body again, without heartbeatTimeoutMillis (brokers that expire)
    doomed: bool
    sock: socket.socket | None = None


def build_brokers(count: int, doomed: int, compressed: bool) -> list[Broker]:
    brokers = []
    for b in range(count):
        name, addr = f"broker-{b}", f"127.0.0.{b + 1}:10911"
        first = register_body(f"b{b}", 1, 8, compressed)
        changed = register_body(f"b{b}", 2, 4, compressed)
        brokers.append(
            Broker(
                name,
                addr,
                register_frame(name, addr, first, compressed=compressed, timeout=True),
                register_frame(name, addr, changed, compressed=compressed, timeout=True),
                register_frame(name, addr, changed, compressed=compressed, timeout=False),
                doomed=b >= count - doomed,
            )
        )
    return brokers


# --------------------------------------------------------------------------------------------
# Driving the server


@dataclass
class Op:
    phase: str
    kind: str
    start: float
    end: float
    topics: int = 0


@dataclass
class Run:
    host: str
    port: int
    pid: int
    ops: list[Op] = field(default_factory=list)
    phases: list[tuple[str, float, float, float]] = field(default_factory=list)  # name, t, t, cpu
    phase: str = ""

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=REQUEST_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def call(
        self, sock: socket.socket, kind: str, data: bytes, topics: int = 0, gap: float = GAP
    ) -> RemotingCommand:
        start = time.monotonic()
        sock.sendall(data)
        answer = read_frame(sock)
        self.ops.append(Op(self.phase, kind, start, time.monotonic(), topics))
        if answer.code != 0:
            raise SystemExit(f"{kind} refused: {answer.code} {answer.remark}")
        time.sleep(gap)
        return answer


def read_frame(sock: socket.socket) -> RemotingCommand:
    buffer = bytearray()
    while len(buffer) < 4:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    size = int.from_bytes(buffer[:4], "big") + 4
    parts = [bytes(buffer)]
    have = len(buffer)
    while have < size:
        chunk = sock.recv(min(1 << 20, size - have))
        if not chunk:
            raise ConnectionError("server closed the connection")
        parts.append(chunk)
        have += len(chunk)
    return frame.decode(b"".join(parts))


def lists(run: Run, admin: socket.socket, topics: int) -> None:
    """The first topic list and cluster info after a change."""
    answer = run.call(admin, "topic list", frame.encode(RemotingCommand(code=206)))
    got = len(json.loads(answer.body or b"{}").get("topicList", []))
    if got < topics:
        raise SystemExit(f"topic list has {got} topics, expected at least {topics}")
    run.call(admin, "cluster info", frame.encode(RemotingCommand(code=106)))


def phase(run: Run, name: str) -> None:
    now = time.monotonic()
    if run.phases:
        last_name, last_start, _, cpu = run.phases[-1]
        run.phases[-1] = (last_name, last_start, now, cpu_seconds(run.pid) - cpu)
    if name:
        run.phases.append((name, now, now, cpu_seconds(run.pid)))
    run.phase = name


def drive(run: Run, brokers: list[Broker], kv_writes: int) -> None:
    admin = run.connect()
    live = len(brokers) * TOPICS_PER_BROKER
    phase(run, "idle")
    time.sleep(2.0)

    phase(run, "register")
    for broker in brokers:
        broker.sock = run.connect()
        run.call(broker.sock, "register (first)", broker.first, TOPICS_PER_BROKER)
    lists(run, admin, live)

    phase(run, "re-register")
    for broker in brokers:
        assert broker.sock is not None
        run.call(broker.sock, "re-register (changed)", broker.changed, TOPICS_PER_BROKER)
        lists(run, admin, live)

    phase(run, "kv")
    for i in range(kv_writes):
        ext = {"namespace": f"stall-ns-{i % 5}", "key": f"key-{i:04d}", "value": f"value-{i}" * 4}
        run.call(admin, "kv put", frame.encode(RemotingCommand(code=100, ext_fields=ext)), gap=0)
    time.sleep(GAP)

    phase(run, "expiry")
    doomed = [broker for broker in brokers if broker.doomed]
    for broker in doomed:
        assert broker.sock is not None
        run.call(broker.sock, "last registration (unchanged)", broker.last, gap=0)
    start = time.monotonic()
    for broker in doomed:  # the server closes a broker's connection when it expires it
        assert broker.sock is not None
        broker.sock.settimeout(max(start + 10 - time.monotonic(), 0.1))
        try:
            if broker.sock.recv(1):
                raise SystemExit(f"{broker.name}: unexpected data")
        except TimeoutError:
            raise SystemExit(f"{broker.name} was not expired within 10 s") from None
    run.ops.append(Op(run.phase, "expiry (wait for the scan)", start, time.monotonic(), 0))
    time.sleep(GAP)
    live -= len(doomed) * TOPICS_PER_BROKER
    lists(run, admin, live)
    time.sleep(0.5)
    phase(run, "")
    for broker in brokers:
        if broker.sock is not None:
            broker.sock.close()
    admin.close()


# --------------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * fraction + 0.999999) - 1))]


def verdict(p99: float, worst: float) -> str:
    missed = [f"p99 {p99 / TARGET_P99:.1f}x" for _ in [0] if p99 > TARGET_P99]
    missed += [f"max {worst / TARGET_MAX:.1f}x" for _ in [0] if worst > TARGET_MAX]
    return "met" if not missed else "missed: " + ", ".join(missed)


def report(run: Run, samples: list[tuple[float, float, int]], probe_info: dict) -> None:
    ms = [(sent, latency * 1000, code) for sent, latency, code in samples]
    print(
        f"\nprober: {len(ms):,} answers, {probe_info['lost']} unanswered, "
        f"{probe_info['skipped']} slots skipped, its own lateness at most "
        f"{probe_info['late_max'] * 1000:.1f} ms; targets p99 <= {TARGET_P99:g} ms, "
        f"max <= {TARGET_MAX:g} ms"
    )
    print(
        f"  {'phase':<14}{'probes':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'server CPU':>12}  verdict"
    )
    rows = [(name, start, end, cpu) for name, start, end, cpu in run.phases]
    rows.append(("overall", rows[0][1], rows[-1][2], sum(row[3] for row in rows)))
    for name, start, end, cpu in rows:
        window = [latency for sent, latency, _ in ms if start <= sent < end]
        if not window:
            continue
        p50, p99, worst = percentile(window, 0.5), percentile(window, 0.99), max(window)
        print(
            f"  {name:<14}{len(window):>8,}{p50:>9.2f}{p99:>9.2f}{worst:>9.1f}"
            f"{cpu:>10.2f} s  {verdict(p99, worst)}"
        )

    print("\noperations (request to answer), and the worst probe sent or answered during them:")
    print(f"  {'kind':<28}{'count':>6}{'median ms':>11}{'max ms':>9}{'worst probe ms':>16}  rate")
    kinds: dict[str, list[Op]] = {}
    for op in run.ops:
        kinds.setdefault(op.kind, []).append(op)
    for kind, ops in kinds.items():
        times = [(op.end - op.start) * 1000 for op in ops]
        worst = max(
            (lat for op in ops for sent, lat, _ in ms if overlaps(op, sent, lat)), default=0.0
        )
        topics = sum(op.topics for op in ops)
        rate = f"{topics / (sum(times) / 1000):,.0f} topics/s" if topics else ""
        if kind == "kv put":
            rate = f"{len(ops) / (sum(times) / 1000):,.0f} writes/s"
        print(
            f"  {kind:<28}{len(ops):>6}{statistics.median(times):>11.1f}{max(times):>9.1f}"
            f"{worst:>16.1f}  {rate}"
        )

    print("\nthe ten worst stalls (the worst probe of each), and what ran while it waited:")
    shown: list[tuple[float, float]] = []
    for sent, latency, code in sorted(ms, key=lambda sample: -sample[1]):
        end = sent + latency / 1000
        if any(sent < other_end and end > other_sent for other_sent, other_end in shown):
            continue  # held up by a stall already shown
        if len(shown) == 10:
            break
        shown.append((sent, end))
        during = [op for op in run.ops if overlaps(op, sent, latency)]
        what = ", ".join(f"{op.kind} ({op.phase})" for op in during) or "no operation (between)"
        print(f"  {latency:7.1f} ms  code {code}  {what}")


def overlaps(op: Op, sent: float, latency_ms: float) -> bool:
    return sent < op.end and sent + latency_ms / 1000 > op.start


# --------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        probe(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 brokers x 10,000 topics")
    parser.add_argument("--compressed", action="store_true", help="compressed register bodies")
    parser.add_argument("--kv-writes", type=int, default=300, help="PUT_KV_CONFIG count")
    parser.add_argument("--brokers", type=int, help="brokers (10; 2 with --quick)")
    parser.add_argument("--topics", type=int, help="topics per broker (10,000)")
    args = parser.parse_args()
    count, doomed = (2, 1) if args.quick else (10, 3)
    if args.brokers:
        count, doomed = args.brokers, max(1, args.brokers * 3 // 10)
    if args.topics:
        global TOPICS_PER_BROKER
        TOPICS_PER_BROKER = args.topics
    kind = "compressed" if args.compressed else "JSON"
    load = os.getloadavg()
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load[0]:.2f}; "
        f"{count} brokers x {TOPICS_PER_BROKER:,} topics, {kind} bodies, "
        f"{args.kv_writes} KV writes, {doomed} broker(s) expiring"
    )
    started = time.monotonic()
    brokers = build_brokers(count, doomed, args.compressed)
    print(
        f"frames built in {time.monotonic() - started:.1f} s "
        f"({len(brokers[0].first):,} bytes per first registration)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        process, address = start_serve(
            [
                *("--kv-config-path", str(Path(tmp) / "kvConfig.json"), "--log-level", "ERROR"),
                *("--broker-expire", "2", "--scan-interval", "0.5"),
            ]
        )
        host, port = address.rsplit(":", 1)
        prober = None
        try:
            run = Run(host, int(port), process.pid)
            topic = "StallProbe"
            keeper = run.connect()  # a small broker holds the probed topic from the start
            raw = RegisterBrokerBody()
            table = raw.topic_config_serialize_wrapper.topic_config_table
            for name in (topic, f"{topic}-2"):
                table[name] = TopicConfig(name, 4, 4)
            data = register_frame(
                "probe-broker", "127.0.1.1:10911", raw.encode(), compressed=False, timeout=True
            )
            run.call(keeper, "register (probe broker)", data, gap=0)
            run.ops.clear()
            prober = subprocess.Popen(
                [sys.executable, __file__, "--probe", host, port, topic],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            time.sleep(0.5)  # the prober connects; its first samples precede the idle phase
            try:
                drive(run, brokers, args.kv_writes)
            finally:
                out, _ = prober.communicate(b"", timeout=30)  # closing stdin stops it
            info = json.loads(out)
            print(f"server RSS at the end: {rss_mib(process.pid):.1f} MiB")
            report(run, [tuple(s) for s in info["samples"]], info)
        finally:
            if prober is not None and prober.poll() is None:
                prober.kill()
            process.terminate()
            process.wait(timeout=30)
    print(f"\nwhole run {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
