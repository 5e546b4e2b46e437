"""KV repair across NameServers, against three real `nsctl serve` processes: one comes back
on an empty store, `kv diff` shows what it lost, `kv sync` repairs it (again: no change), an
interrupted sync converges when run again, and export / import round-trip a store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from nsctl.client import NameServerClient
from tests.cli.conftest import NSCTL


@contextmanager
def serve(kv_path: Path) -> Iterator[str]:
    process = subprocess.Popen(
        [*NSCTL, "serve", "--port", "0", "--kv-config-path", str(kv_path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        yield process.stdout.readline().rsplit(" ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def nsctl(*args: str, namesrv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NSCTL, *args, "-n", ";".join(namesrv)], capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


KEYS = {("ORDER_TOPIC_CONFIG", f"T{i}"): f"broker-a:{i % 8 + 1}" for i in range(30)} | {
    ("app", "greeting"): "hello",
    ("app", "empty"): "",
}


def put_all(address: str, keys: dict) -> None:
    with NameServerClient(address) as client:
        for (namespace, key), value in keys.items():
            client.put_kv_config(namespace, key, value)


@pytest.fixture
def three(tmp_path) -> Iterator[list[str]]:
    with ExitStack() as stack:
        addresses = [stack.enter_context(serve(tmp_path / f"kv{i}.json")) for i in range(2)]
        for address in addresses:
            put_all(address, KEYS)
        # The third came back on a wiped disk: an empty store.
        addresses.append(stack.enter_context(serve(tmp_path / "wiped" / "kv.json")))
        yield addresses


def test_diff_sync_then_diff_is_clean(three):
    good, _, wiped = three
    diff = nsctl("kv", "diff", "-s", "app", "-o", "json", namesrv=three)
    assert diff.returncode == 5
    differences = json.loads(diff.stdout)["differences"]
    assert len(differences) == len(KEYS)
    assert all(d["values"][wiped] is None for d in differences)
    dry = nsctl("kv", "sync", "--from", good, "-s", "app", "--dry-run", "-o", "json",
                namesrv=three)  # fmt: skip
    assert dry.returncode == 6 and len(json.loads(dry.stdout)["changes"]) == len(KEYS)
    synced = nsctl("kv", "sync", "--from", good, "-s", "app", "-o", "json", namesrv=three)
    assert synced.returncode == 0, synced.stderr
    changes = json.loads(synced.stdout)["changes"]
    assert {c["namesrv"] for c in changes} == {wiped} and all(c["ok"] for c in changes)
    assert nsctl("kv", "diff", "-s", "app", namesrv=three).returncode == 0
    again = nsctl("kv", "sync", "--from", good, "-s", "app", "-o", "json", namesrv=three)
    assert again.returncode == 0 and json.loads(again.stdout)["changes"] == []
    table = nsctl("kv", "sync", "--from", good, "-s", "app", namesrv=three)
    assert "no change" in table.stdout
    with NameServerClient(wiped) as client:
        assert client.get_kv_config("app", "empty") == ""  # an empty value is a value


def test_an_interrupted_sync_converges_when_run_again(three):
    good, _, wiped = three
    many = {("bulk", f"k{i:05d}"): "v" * 50 for i in range(3000)}
    put_all(good, many)
    process = subprocess.Popen(
        [*NSCTL, "kv", "sync", "--from", good, "-s", "bulk", "-s", "app", "-n", ";".join(three)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    with NameServerClient(wiped) as client:  # kill -9 once some keys are in, not all
        while time.monotonic() < deadline:
            try:
                if len(client.get_kv_list_by_namespace("bulk")) > 100:
                    break
            except Exception:
                pass
            time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    rerun = nsctl("kv", "sync", "--from", good, "-s", "bulk", "-s", "app", namesrv=three)
    assert rerun.returncode == 0, rerun.stderr
    assert nsctl("kv", "diff", "-s", "bulk", "-s", "app", namesrv=three).returncode == 0


def test_export_import_round_trip(three, tmp_path):
    good, _, wiped = three
    exported = nsctl("kv", "export", "-s", "app", namesrv=[good])
    assert exported.returncode == 0, exported.stderr
    path = tmp_path / "backup.json"
    path.write_text(exported.stdout)
    imported = nsctl("kv", "import", "-f", str(path), namesrv=[wiped])
    assert imported.returncode == 0, imported.stderr
    assert nsctl("kv", "diff", "-s", "app", namesrv=[good, wiped]).returncode == 0
    second = nsctl("kv", "import", "-f", str(path), namesrv=[wiped])
    assert "no change" in second.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"namespaces": {"app": {"k": 1}}}')
    refused = nsctl("kv", "import", "-f", str(bad), namesrv=[wiped])
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1


def test_delete_extra_needs_yes_without_a_terminal(three):
    good, _, wiped = three
    put_all(wiped, {("app", "stray"): "x"})
    refused = nsctl("kv", "sync", "--from", good, "-s", "app", "--delete-extra", namesrv=three)
    assert refused.returncode == 2
    done = nsctl("kv", "sync", "--from", good, "-s", "app", "--delete-extra", "--yes",
                 namesrv=three)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with NameServerClient(wiped) as client:
        assert "stray" not in client.get_kv_list_by_namespace("app")
