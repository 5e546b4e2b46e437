"""Protocol layer throughput: encode/decode rates for a route request and a route response.

Run: .venv/bin/python tests/bench/protocol_bench.py
Prints frames/s for each case in both header serializations, and the cost of the server's hot
path (decode a request, encode the answer around a cached body). Target: under 10 µs.
"""

from __future__ import annotations

import time

from nsctl.protocol import (
    BrokerData,
    FrameDecoder,
    QueueData,
    RemotingCommand,
    SerializeType,
    TopicRouteData,
    decode,
    encode,
)

ROUNDS = 50_000


def route_request(kind: SerializeType) -> RemotingCommand:
    return RemotingCommand(
        code=105,
        language="JAVA",
        version=479,
        opaque=12345,
        ext_fields={"topic": "TopicTest"},
        serialize_type=kind,
    )


def route_response(request: RemotingCommand) -> RemotingCommand:
    """A 2-broker route with 8 queues each, master and slave per broker."""
    route = TopicRouteData(
        queue_datas=[QueueData(f"broker-{c}", 8, 8, 6) for c in "ab"],
        broker_datas=[
            BrokerData(
                "DefaultCluster",
                f"broker-{c}",
                {0: f"10.0.0.{i}:10911", 1: f"10.0.1.{i}:10911"},
                enable_acting_master=False,
            )
            for i, c in enumerate("ab")
        ],
    )
    return request.make_response(body=route.encode(bare_int_keys=False))


def rate(label: str, fn, rounds: int = ROUNDS) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    elapsed = time.perf_counter() - start
    per = elapsed / rounds * 1e6
    print(f"  {label:<52} {rounds / elapsed:>12,.0f} frames/s  {per:7.2f} µs")
    return per


def main() -> None:
    for kind in SerializeType:
        request = route_request(kind)
        response = route_response(request)
        request_frame, response_frame = encode(request), encode(response)
        print(
            f"{kind.name} header ({len(request_frame)} B request, {len(response_frame)} B response)"
        )
        rate("encode GET_ROUTEINFO_BY_TOPIC request", lambda r=request: encode(r))
        rate("decode GET_ROUTEINFO_BY_TOPIC request", lambda f=request_frame: decode(f))
        rate("encode route response (2 brokers, 8 queues)", lambda r=response: encode(r))
        rate("decode route response", lambda f=response_frame: decode(f))
        rate(
            "decode route response body into TopicRouteData",
            lambda b=response.body: TopicRouteData.decode(b),
            rounds=ROUNDS // 5,
        )
        decoder = FrameDecoder()
        body = response.body

        def hot_path(frame=request_frame, decoder=decoder, body=body) -> bytes:
            (command,) = decoder.feed(frame)
            return encode(command.make_response(body=body))

        per = rate("hot path: decode request + encode cached answer", hot_path)
        verdict = "meets" if per < 10 else "misses"
        print(f"  -> {verdict} the 10 µs target ({per:.2f} µs)\n")


if __name__ == "__main__":
    main()
