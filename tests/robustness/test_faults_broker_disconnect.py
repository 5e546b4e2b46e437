"""A broker that disconnects in the middle of its REGISTER_BROKER frame leaves no trace: the
server stays healthy, does not list it, and the next broker registers normally."""

from __future__ import annotations

from nsctl.protocol import dialect, encode
from tests.robustness import canary, report
from tests.server.wire import WireClient, register_request, request

# Cut points as fractions of the frame: inside the length word, the header word, the header,
# the body, and one byte short of the end.
CUTS = (0.0, 2 / 1000, 6 / 1000, 0.05, 0.3, 0.5, 0.9, None)


def cluster_brokers(address: str) -> set[str]:
    with WireClient(address) as client:
        info = dialect.loads(client.call(request(106)).body)
    return set(info["brokerAddrTable"])


def test_half_sent_register_leaves_no_broker_and_the_next_one_registers(serve_process):
    address = serve_process.address
    keeper = canary.install(address)
    try:
        for index, cut in enumerate(CUTS):
            name = f"half-{index}"
            raw = encode(
                register_request(broker_name=name, broker_addr=f"127.0.0.1:{3000 + index}")
            )
            size = len(raw) - 1 if cut is None else max(1, int(len(raw) * cut))
            with WireClient(address) as broker:
                broker.send_raw(raw[:size])
                broker.close_and_wait()  # the server has run its connection-closed cleanup
            canary.probe(address)
            assert name not in cluster_brokers(address)
            report.count("faults: half-sent REGISTER_BROKER")

        with WireClient(address) as broker:
            assert broker.call(register_request(broker_name="whole")).code == 0
            assert cluster_brokers(address) == {canary.BROKER, "whole"}
    finally:
        keeper.close()
    assert serve_process.process.poll() is None
