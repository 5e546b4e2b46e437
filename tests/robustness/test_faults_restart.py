"""A NameServer process SIGKILLed and restarted on the same port, under a running
`nsctl watch -o json` and under a `NameServerManager` with two addresses."""

from __future__ import annotations

import threading
import time

from nsctl.client import NameServerConfig, NameServerError, NameServerManager
from tests.cli.test_watch_check import WatchProcess
from tests.robustness import report
from tests.robustness.restart import restart_on_same_port
from tests.server.wire import WireClient, register_request, request

KILLS = 2


def test_watch_reports_down_and_up_across_kill_9_and_keeps_going(serve_process_factory):
    server = serve_process_factory()
    address = server.address
    watch = WatchProcess(
        "--cluster", "-n", address, "--interval", "0.2", "--request-timeout", "0.5", "-o", "json"
    )
    try:
        watch.next_event("snapshot", namesrv=address)
        for kill in range(KILLS):
            server.kill()
            watch.next_event("namesrv_down", namesrv=address)
            server = restart_on_same_port(serve_process_factory, server)
            assert server.address == address
            watch.next_event("namesrv_up", namesrv=address)
            # ... and it keeps following the restarted server's state.
            name = f"after-restart-{kill}"
            with WireClient(address) as broker:
                registration = register_request(broker_name=name, topics={"A": 1, "B": 1})
                assert broker.call(registration).code == 0
                watch.next_event("broker_added", namesrv=address, broker=name)
            watch.next_event("broker_removed", namesrv=address, broker=name)
    finally:
        code, err = watch.interrupt()
    assert code == 0 and "Traceback" not in err
    report.count("faults: serve kill -9 + restart under nsctl watch", KILLS)


def put(address: str, value: str) -> None:
    with WireClient(address) as client:
        ext = {"namespace": "failover", "key": "who", "value": value}
        assert client.call(request(100, ext)).code == 0


def test_manager_fails_over_while_one_is_down_and_uses_the_restarted_one(
    serve_process_factory, tmp_path
):
    a = serve_process_factory(kv_config_path=tmp_path / "a.json")
    b = serve_process_factory(kv_config_path=tmp_path / "b.json")
    put(a.address, "a")
    put(b.address, "b")
    config = NameServerConfig(
        [a.address, b.address], timeout=2, connect_timeout=2, retry_interval=0.05
    )
    answers: list[str] = []
    errors: list[NameServerError] = []
    stop = threading.Event()

    def caller(manager: NameServerManager) -> None:
        for _ in range(100_000):  # bounded; stopped by the test long before
            if stop.is_set():
                return
            try:
                answers.append(manager.invoke(lambda c: c.get_kv_config("failover", "who")))
            except NameServerError as exc:
                errors.append(exc)
            time.sleep(0.005)

    def wait_for_answer(value: str, timeout: float = 30.0) -> None:
        start = len(answers)
        deadline = time.monotonic() + timeout
        while value not in answers[start:]:
            assert time.monotonic() < deadline, f"no answer from {value!r}: {answers[-5:]}"
            assert not errors, errors
            time.sleep(0.02)

    with NameServerManager(config) as manager:
        thread = threading.Thread(target=caller, args=(manager,))
        thread.start()
        try:
            wait_for_answer("a")  # sticky on the first address
            a.kill()
            wait_for_answer("b")  # failover while a is down
            a = restart_on_same_port(serve_process_factory, a, kv_config_path=tmp_path / "a.json")
            b.kill()
            wait_for_answer("a")  # the restarted a is used again
            b = restart_on_same_port(serve_process_factory, b, kv_config_path=tmp_path / "b.json")
            a.kill()
            wait_for_answer("b")
        finally:
            stop.set()
            thread.join(30)
    assert not errors, errors
    report.record("faults: manager failover", calls=len(answers), failed=len(errors), kills=3)
