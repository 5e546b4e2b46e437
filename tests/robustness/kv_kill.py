"""KV writes under `kill -9` at a random moment: every write the server acknowledged must be
in the store after a restart, and the store file must parse."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from nsctl.protocol import dialect
from tests.server.wire import WireClient, request

NAMESPACE = "killed"


def write_until_killed(process, round_index: int, rng: random.Random) -> list[str]:
    """Write keys `r<round>-k<i>` until the process is SIGKILLed at a random moment (after the
    first acknowledged write); the keys the server acknowledged."""
    acknowledged: list[str] = []
    first = threading.Event()

    def writer() -> None:
        try:
            with WireClient(process.address) as client:
                for i in range(20_000):  # bounded; the kill ends it much earlier
                    key = f"r{round_index}-k{i}"
                    ext = {"namespace": NAMESPACE, "key": key, "value": f"v{i}"}
                    if client.call(request(100, ext)).code == 0:
                        acknowledged.append(key)
                        first.set()
        except (ConnectionError, OSError):
            pass  # killed mid-burst: the point of the exercise
        finally:
            first.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert first.wait(30)
    killer = threading.Timer(rng.uniform(0.0, 0.5), process.kill)
    killer.start()
    killer.join()
    thread.join(30)
    assert not thread.is_alive()
    return acknowledged


def check_store(kv_path: Path, address: str, expected: list[str]) -> None:
    """Both files parse, and every acknowledged key is served after the restart."""
    for path in (kv_path, kv_path.with_name(kv_path.name + ".bak")):
        if path.exists():
            assert isinstance(dialect.loads(path.read_bytes()), dict), path
    with WireClient(address) as client:
        response = client.call(request(219, {"namespace": NAMESPACE}))
    table = dialect.loads(response.body)["table"] if response.code == 0 else {}
    missing = [key for key in expected if key not in table]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"


def kill_rounds(factory, kv_path: Path, rounds: int, seed: int) -> tuple[int, int]:
    """`rounds` start / write / kill -9 / restart / check cycles; (kills, acknowledged)."""
    rng = random.Random(seed)
    expected: list[str] = []
    process = factory(kv_config_path=kv_path)
    for round_index in range(rounds):
        expected += write_until_killed(process, round_index, rng)
        process = factory(kv_config_path=kv_path)
        check_store(kv_path, process.address, expected)
    process.stop()
    return rounds, len(expected)
