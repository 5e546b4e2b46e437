"""Fixtures shared by every test package: captured frames, an embedded NameServer, and a real
`nsctl serve` subprocess on an ephemeral loopback port."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from nsctl.server import EmbeddedNameServer

# Properties are about answers, not speed: on a loaded CI machine a slow example is not a
# failure (speed lives in tests/bench/). Tests that set their own settings inherit this.
settings.register_profile("nsctl", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("NSCTL_HYPOTHESIS_PROFILE", "nsctl"))

TESTS = Path(__file__).resolve().parent

# No one's own contexts (~/.config/nsctl/config.toml, $NSCTL_CONTEXT) may change a result: every
# nsctl the tests start (they inherit this environment) reads a configuration file that cannot
# exist, as a path under /dev/null; tests of contexts point NSCTL_CONFIG at their own.
os.environ["NSCTL_CONFIG"] = os.path.join(os.devnull, "nsctl-tests", "config.toml")
os.environ.pop("NSCTL_CONTEXT", None)
DATA = TESTS / "data"
READY_PREFIX = "NameServer listening on "


def frames_dir(version: str) -> Path:
    """Captured frames of one Java version: `frames_dir("5.3.3")` -> tests/data/frames-5.3.3."""
    path = DATA / f"frames-{version}"
    if not path.is_dir():
        raise FileNotFoundError(f"no captured frames for version {version} under {DATA}")
    return path


@pytest.fixture
def nameserver(tmp_path: Path) -> Iterator[EmbeddedNameServer]:
    """A started embedded NameServer on 127.0.0.1 with its KV store under tmp_path."""
    with EmbeddedNameServer(
        host="127.0.0.1", port=0, kv_config_path=tmp_path / "kvConfig.json"
    ) as server:
        yield server


class ServeProcess:
    """A `nsctl serve` subprocess; `address` is known once its ready line was printed."""

    def __init__(self, args: list[str], *, log_path: Path, startup_timeout: float = 20.0) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nsctl.cli.main", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=TESTS.parent,
        )
        self.address = self._wait_ready(startup_timeout)
        self.host, _, port = self.address.rpartition(":")
        self.port = int(port)

    def _wait_ready(self, timeout: float) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                text = line.decode("utf-8", "replace").strip()
                if text.startswith(READY_PREFIX):
                    return text[len(READY_PREFIX) :]
                if not line:
                    break
        self.stop()
        raise RuntimeError(
            f"nsctl serve did not print its ready line (last {line!r}); log:\n{self.log_text()}"
        )

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as a crash."""
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


@pytest.fixture
def serve_process_factory(tmp_path: Path) -> Iterator:
    """Start `nsctl serve --port 0 <extra args>` processes; all are stopped at teardown."""
    started: list[ServeProcess] = []

    def start(*extra: str, kv_config_path: Path | None = None) -> ServeProcess:
        kv = kv_config_path or tmp_path / "kvConfig.json"
        port = [] if "--port" in extra else ["--port", "0"]  # an option may be given once
        args = [*port, "--kv-config-path", str(kv), *extra]
        process = ServeProcess(args, log_path=tmp_path / f"serve-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def serve_process(serve_process_factory) -> ServeProcess:
    """A running `nsctl serve --port 0` subprocess (KV store under tmp_path)."""
    return serve_process_factory()
