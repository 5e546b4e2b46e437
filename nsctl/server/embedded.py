"""`EmbeddedNameServer`: a NameServer on a background thread with its own event loop.

For tests, demos and library users who want a NameServer without a subprocess::

    with EmbeddedNameServer(port=0) as ns:
        client = NameServerClient(ns.address)
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from nsctl.server.config import NamesrvConfig, TLSSettings, parse_networks
from nsctl.server.server import NameServer

_START_TIMEOUT = 10.0


class EmbeddedNameServer:
    """Start with `start()` or `with`; `address` is "host:port" once started.

    `kv_config_path=None` keeps the KV store in a temporary directory removed on `stop()`.
    Times are in seconds. `tls` serves TLS as `nsctl serve --tls-cert/--tls-key/--tls-mode`;
    `admin_allow` (addresses or CIDR blocks) replaces the loopback-only default for admin
    requests, as `--admin-allow` does; `max_connections` and `max_frame_length` are the
    limits of `--max-connections` and `--max-frame-length`; `answer_cache=False` is
    `--no-answer-cache`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        kv_config_path: str | Path | None = None,
        broker_expire: float = 120.0,
        scan_interval: float = 5.0,
        order_message_enable: bool = False,
        *,
        idle_timeout: float | None = None,
        tls: TLSSettings | None = None,
        admin_allow: Iterable[str] | None = None,
        max_connections: int | None = None,
        max_frame_length: int | None = None,
        answer_cache: bool | None = None,
        config: NamesrvConfig | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._kv_config_path = kv_config_path
        self._config = config or NamesrvConfig()
        self._config.set("bindAddress", host)
        self._config.set("listenPort", port)
        self._config.set("orderMessageEnable", order_message_enable)
        self._config.set("scanNotActiveBrokerInterval", max(1, round(scan_interval * 1000)))
        self._config.broker_expire_ms = max(1, round(broker_expire * 1000))
        if idle_timeout is not None:
            self._config.set("serverChannelMaxIdleTimeSeconds", max(0, round(idle_timeout)))
        if tls is not None:
            self._config.tls = tls
        if admin_allow is not None:
            self._config.admin_allow = parse_networks(admin_allow)
        if max_connections is not None:
            self._config.max_connections = max_connections
        if max_frame_length is not None:
            self._config.max_frame_length = max_frame_length
        if answer_cache is not None:
            self._config.answer_cache = answer_cache
        self._temp_dir: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: NameServer | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def server(self) -> NameServer:
        """The running server (its route table, KV store and config), for white-box checks."""
        if self._server is None:
            raise RuntimeError("the embedded NameServer is not running")
        return self._server

    def start(self) -> EmbeddedNameServer:
        """Start serving; returns once connections are accepted. Raises if start-up fails."""
        if self._thread is not None:
            raise RuntimeError("the embedded NameServer is already running")
        if self._kv_config_path is None:
            self._temp_dir = tempfile.mkdtemp(prefix="nsctl-namesrv-")
            kv_path = str(Path(self._temp_dir) / "kvConfig.json")
        else:
            kv_path = str(self._kv_config_path)
        self._config.set("kvConfigPath", kv_path)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name=f"nsctl-namesrv-{self.port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(_START_TIMEOUT):
            raise RuntimeError("the embedded NameServer did not start in time")
        if failure:
            self._thread.join()
            self._thread = None
            self._remove_temp_dir()
            raise failure[0]
        return self

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready, failure))
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._stopped = asyncio.Event()
        server = NameServer(self._config)
        try:
            await server.start()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        self._server = server
        self.port = server.port
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            await server.stop()

    def stop(self) -> None:
        """Close every connection, stop the loop and remove the temporary KV directory."""
        thread, loop, stopped = self._thread, self._loop, self._stopped
        if thread is None:
            return
        if loop is not None and stopped is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopped.set)
        thread.join()
        self._thread = None
        self._server = None
        self._remove_temp_dir()

    def _remove_temp_dir(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> EmbeddedNameServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"EmbeddedNameServer({self.address}, {state})"
