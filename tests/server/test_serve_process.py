"""`nsctl serve` as a real process: ready line, signals, crash safety of the KV store."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from nsctl.protocol import dialect
from tests.server.wire import WireClient, register_request, request


def test_serve_answers_and_sigterm_exits_cleanly(serve_process):
    with WireClient(serve_process.address) as client:
        assert client.call(register_request()).code == 0
        assert client.call(request(105, {"topic": "TopicTest"})).code == 0
    assert serve_process.terminate() == 0
    assert "stopped" in serve_process.log_text()


def test_config_file_is_read_and_command_line_wins(serve_process_factory, tmp_path):
    properties = tmp_path / "namesrv.properties"
    properties.write_text("orderMessageEnable=true\nlistenPort=1\nwaitSecondsForService=7\n")
    process = serve_process_factory("-c", str(properties))  # --port 0 beats listenPort=1
    with WireClient(process.address) as client:
        config = client.call(request(319)).body.decode()
    assert "orderMessageEnable=true\n" in config and "waitSecondsForService=7\n" in config
    assert f"listenPort={process.port}\n" in config
    assert f"configStorePath={properties.resolve()}\n" in config
    assert properties.read_text().startswith("orderMessageEnable=true\n")  # never rewritten


def test_kv_writes_acknowledged_before_kill_9_survive(serve_process_factory, tmp_path):
    kv_path = tmp_path / "kvConfig.json"
    process = serve_process_factory(kv_config_path=kv_path)
    acknowledged: list[int] = []
    enough = threading.Event()

    def writer() -> None:
        try:
            with WireClient(process.address) as client:
                for i in range(5000):  # bounded; the kill ends it much earlier
                    ext = {"namespace": "burst", "key": f"k{i}", "value": f"v{i}"}
                    if client.call(request(100, ext)).code == 0:
                        acknowledged.append(i)
                    if len(acknowledged) == 100:
                        enough.set()
        except (ConnectionError, OSError):
            pass  # the server died mid-burst, which is the point
        finally:
            enough.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert enough.wait(60)
    process.kill()  # SIGKILL while writes are in flight
    thread.join(30)
    assert len(acknowledged) >= 100

    assert isinstance(dialect.loads(kv_path.read_bytes()), dict)  # the file parses
    restarted = serve_process_factory(kv_config_path=kv_path)
    with WireClient(restarted.address) as client:
        table = dialect.loads(client.call(request(219, {"namespace": "burst"})).body)["table"]
    missing = [i for i in acknowledged if table.get(f"k{i}") != f"v{i}"]
    assert not missing, f"acknowledged writes lost: {missing[:10]}"


def test_corrupt_kv_file_is_logged_and_backup_used(serve_process_factory, tmp_path):
    kv_path = tmp_path / "kvConfig.json"
    Path(f"{kv_path}.bak").write_text('{"configTable":{"ns":{"k":"from-backup"}}}')
    kv_path.write_text('{"configTable":')
    process = serve_process_factory(kv_config_path=kv_path)
    with WireClient(process.address) as client:
        assert client.call(request(101, {"namespace": "ns", "key": "k"})).ext("value") == (
            "from-backup"
        )
    assert "is corrupt" in process.log_text() and ".bak" in process.log_text()


def test_unusable_kv_store_refuses_to_start_with_a_clear_error(tmp_path):
    kv_path = tmp_path / "kvConfig.json"
    kv_path.write_text("garbage")
    Path(f"{kv_path}.bak").write_text("garbage too")
    command = [sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0"]
    result = subprocess.run(
        [*command, "--kv-config-path", str(kv_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "corrupt" in result.stderr and "Traceback" not in result.stderr
    assert "NameServer listening" not in result.stdout
