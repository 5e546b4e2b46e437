"""`serve --demo` keeps its KV store private: a temporary directory removed on exit, never the
Java NameServer's ~/namesrv/kvConfig.json, unless a path is given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from nsctl.client import NameServerClient

READY = "NameServer listening on "


def run_demo(home: Path, *args: str) -> tuple[str, str]:
    """Start `nsctl serve --demo` with HOME=home, put a KV entry, stop it; (stderr, address)."""
    env = {k: v for k, v in os.environ.items() if k != "NAMESRV_ADDR"}
    env["HOME"] = str(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "nsctl.cli.main", "serve", "--port", "0", "--demo", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=home,
    )  # fmt: skip
    try:
        ready = process.stdout.readline()
        assert ready.startswith(READY), (ready, process.stderr.read() if process.poll() else "")
        address = ready[len(READY) :].strip()
        assert process.stdout.readline().startswith("Demo cluster")
        with NameServerClient(address) as client:
            client.put_kv_config("demo-ns", "k", "v")
            assert client.get_kv_config("demo-ns", "k") == "v"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return err, address


def kv_path_in_log(log: str) -> Path:
    line = next(line for line in log.splitlines() if READY in line and "(KV config " in line)
    return Path(line.split("(KV config ", 1)[1].rstrip(")").split(",")[0])


def test_the_demo_keeps_its_kv_out_of_the_java_default_store(tmp_path):
    log, _ = run_demo(tmp_path)
    assert not (tmp_path / "namesrv").exists()
    used = kv_path_in_log(log)
    assert used.name == "kvConfig.json" and used.parent.name.startswith("nsctl-demo-")
    assert not used.parent.exists()  # removed on exit


def test_the_demo_uses_a_kv_path_given_on_the_command_line_or_in_the_file(tmp_path):
    given = tmp_path / "given.json"
    run_demo(tmp_path, "--kv-config-path", str(given))
    assert '"demo-ns"' in given.read_text()
    from_file = tmp_path / "from-file.json"
    properties = tmp_path / "namesrv.properties"
    properties.write_text(f"kvConfigPath={from_file}\n")
    run_demo(tmp_path, "-c", str(properties))
    assert '"demo-ns"' in from_file.read_text()
    assert not (tmp_path / "namesrv").exists()


def test_serve_help_says_where_the_demo_keeps_its_kv():
    done = subprocess.run(
        [sys.executable, "-m", "nsctl.cli.main", "serve", "--help"],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert "private temporary" in " ".join(done.stdout.split())
