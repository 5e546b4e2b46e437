"""What the server counts, in plain integers on the event loop.

Nothing here imports prometheus-client or takes a lock: a request costs a few integer and dict
operations, and `nsctl.server.metrics` (loaded only with `serve --metrics-port`) reads these
fields when it is scraped. Its reads run in the HTTP server's thread; each is a copy made in one
C call under the GIL (`dict(...)`, `list(...)`, `len(...)`), so it sees a consistent value of
each field without ever blocking the loop.

Labels stay bounded whatever peers send: a request code that is not one of `RequestCode` is
counted as `OTHER`, and outcomes are the server's own response codes.
"""

from __future__ import annotations

import bisect

from nsctl.protocol.codes import RequestCode

#: A request code outside RequestCode (any int a peer may send) is counted under this one.
OTHER = -1
#: The outcome of a request the server does not answer (one-way).
NO_ANSWER = -1

_KNOWN_CODES = frozenset(int(c) for c in RequestCode)

#: Upper bounds of the latency buckets, in seconds; the last bucket is +Inf.
LATENCY_BUCKETS = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
LATENCY_BOUNDS_NS = tuple(round(b * 1e9) for b in LATENCY_BUCKETS)


def code_key(code: int) -> int:
    return code if code in _KNOWN_CODES else OTHER


class Histogram:
    """Bucket counts (not cumulative; the last is +Inf) and the sum, in nanoseconds."""

    __slots__ = ("counts", "sum_ns")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BOUNDS_NS) + 1)
        self.sum_ns = 0

    def observe(self, elapsed_ns: int, times: int = 1) -> None:
        self.counts[bisect.bisect_left(LATENCY_BOUNDS_NS, elapsed_ns)] += times
        self.sum_ns += elapsed_ns * times


class ServerStats:
    """Counters of one NameServer. Cache hits are counted by the answer cache itself
    (`AnswerCache.slot_hits`); everything else here."""

    def __init__(self) -> None:
        #: (code, outcome) -> requests answered by the normal path (dispatch)
        self.requests: dict[tuple[int, int], int] = {}
        #: code -> latency of the normal path: frame complete -> answer encoded
        self.latency: dict[int, Histogram] = {}
        #: latency of answer-cache hits (a run of hits timed as one, shared among them)
        self.hit_latency = Histogram()
        #: cacheable requests the cache did not have (answered by the normal path)
        self.cache_misses = 0
        self.bytes_in = 0
        self.bytes_out = 0
        #: accepted REGISTER_BROKER requests (first registrations and renewals)
        self.broker_registrations = 0
        #: brokers dropped by the expiry scan
        self.broker_expiries = 0
        #: brokers removed: by UNREGISTER_BROKER ("request") or their connection closing
        self.broker_removals: dict[str, int] = {}
        #: code -> broker-side writes refused by --broker-allow / --broker-require-cert
        self.broker_refusals: dict[int, int] = {}
        #: reason -> connections the server closed on a bound or a bad frame
        self.connections_closed: dict[str, int] = {}
        #: Work done by the worker thread (server.offload), by kind: registration, topic_list.
        self.offloaded: dict[str, int] = {}
        #: Topic lists the worker made from tables that changed meanwhile, made again.
        self.lists_redone = 0

    def answered(self, code: int, outcome: int, elapsed_ns: int) -> None:
        code = code if code in _KNOWN_CODES else OTHER
        key = (code, outcome)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get(code)
        if histogram is None:
            histogram = self.latency[code] = Histogram()
        histogram.observe(elapsed_ns)

    def bump(self, table: dict, key: object, by: int = 1) -> None:
        table[key] = table.get(key, 0) + by
