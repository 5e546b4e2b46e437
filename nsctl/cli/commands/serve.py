"""`nsctl serve`: run an embedded NameServer in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from nsctl.cli.app import app
from nsctl.protocol.frame import DEFAULT_MAX_FRAME_LENGTH

DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 9876
# nsctl.server.config's default, repeated so that `--help` does not import the server.
DEFAULT_MAX_CONNECTIONS = 10_000
DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024
# What `--metrics-port` serves, as nsctl.server.metrics.METRICS has it (a test keeps the two
# equal), repeated so that `--help` does not import prometheus-client.
METRICS_HELP = (
    "nsctl_requests_total counter (code, outcome; answer-cache hits included); "
    "nsctl_request_duration_seconds histogram (code; dispatched requests); "
    "nsctl_answer_cache_hit_duration_seconds histogram; "
    "nsctl_answer_cache_hits_total counter; nsctl_answer_cache_misses_total counter; "
    "nsctl_answer_cache_entries gauge; nsctl_answer_cache_bytes gauge; nsctl_brokers gauge; "
    "nsctl_clusters gauge; nsctl_topics gauge; nsctl_connections gauge; nsctl_kv_keys gauge; "
    "nsctl_broker_registrations_total counter; nsctl_broker_expiries_total counter; "
    "nsctl_broker_removals_total counter (reason); "
    "nsctl_broker_write_refusals_total counter (code); "
    "nsctl_connections_closed_total counter (reason); nsctl_offloaded_total counter (kind); "
    "nsctl_offload_redone_total counter (kind); nsctl_received_bytes_total counter; "
    "nsctl_sent_bytes_total counter; process_* (prometheus-client's process collector). "
    "See README, 'Metrics'."
)


@app.command(
    "serve",
    help="Run a NameServer that real RocketMQ brokers, clients and mqadmin can use. Prints "
    "'NameServer listening on HOST:PORT' once it accepts connections; stops cleanly on "
    "SIGINT/SIGTERM.",
)
def serve(
    listen: Annotated[
        Optional[str],  # noqa: UP045 - Typer needs Optional on Python 3.10
        typer.Option("--listen", help=f"Address to bind. [default: {DEFAULT_LISTEN}]"),
    ] = None,
    port: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help=f"TCP port; 0 picks a free one. [default: {DEFAULT_PORT}]",
        ),
    ] = None,
    kv_config_path: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--kv-config-path",
            help="KV store file. [default: ~/namesrv/kvConfig.json, as Java's NameServer; "
            "with --demo a private temporary file, removed on exit]",
        ),
    ] = None,
    scan_interval: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--scan-interval", help="Seconds between broker expiry scans. [default: 5]"),
    ] = None,
    broker_expire: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--broker-expire",
            help="Seconds without a heartbeat before a broker is dropped, unless the broker "
            "sends its own timeout. [default: 120]",
        ),
    ] = None,
    order_message_enable: Annotated[
        bool,
        typer.Option("--order-message-enable", help="Put orderTopicConf into routes."),
    ] = False,
    config_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "-c",
            "--config",
            help="Java namesrv.properties file (listenPort, kvConfigPath, orderMessageEnable, "
            "scanNotActiveBrokerInterval, ...). Command-line options win over it.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    idle_timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--idle-timeout",
            help="Close connections idle for this many seconds, and those whose frame in "
            "progress has not completed in that time. [default: 120]",
        ),
    ] = None,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            help="Close new connections while this many are open (logged).",
        ),
    ] = DEFAULT_MAX_CONNECTIONS,
    max_frame_length: Annotated[
        int,
        typer.Option(
            "--max-frame-length",
            min=64,
            help="Largest frame accepted, in bytes, length word included (as Java's "
            "com.rocketmq.remoting.frameMaxLength); a connection sending a larger one is "
            "closed. It also bounds what one connection can make the server buffer.",
        ),
    ] = DEFAULT_MAX_FRAME_LENGTH,
    max_buffered_bytes: Annotated[
        int,
        typer.Option(
            "--max-buffered-bytes",
            min=65536,
            help="Bound of the bytes all connections together hold in partial frames and "
            "unsent answers; when a read or an answer takes them past it, the connection "
            "holding the most is closed (logged) and the server goes on serving.",
        ),
    ] = DEFAULT_MAX_BUFFERED_BYTES,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            help="text, or json: one JSON object per line (time, level, logger, event, "
            "message and the event's fields; see README, 'Log events'). The ready line on "
            "stdout stays text.",
            autocompletion=lambda: ["text", "json"],
        ),
    ] = "text",
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            help="DEBUG, INFO, WARNING or ERROR.",
            autocompletion=lambda: ["DEBUG", "INFO", "WARNING", "ERROR"],
        ),
    ] = "INFO",
    event_loop: Annotated[
        str,
        typer.Option(
            "--event-loop",
            help="asyncio, or uvloop if you installed it (measured no faster here; see README).",
            autocompletion=lambda: ["asyncio", "uvloop"],
        ),
    ] = "asyncio",
    answer_cache: Annotated[
        bool,
        typer.Option(
            "--answer-cache/--no-answer-cache",
            help="Answer repeated route, cluster and topic-list queries from a cache of the "
            "encoded answers (byte-identical to answering them afresh; emptied by every change "
            "of brokers, topics, KV entries or settings). --no-answer-cache answers every "
            "request afresh.",
        ),
    ] = True,
    tls_cert: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--tls-cert",
            help="PEM certificate (chain) to serve TLS with; needs --tls-key. Without it TLS "
            "is off.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    tls_key: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--tls-key", help="PEM private key of --tls-cert.", exists=True, dir_okay=False
        ),
    ] = None,
    tls_mode: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--tls-mode",
            autocompletion=lambda: ["permissive", "enforcing"],
            help="permissive: TLS and plaintext on the same port (told apart by the first "
            "byte, as the Java server does); enforcing: plaintext connections are closed. "
            "[default: permissive]",
        ),
    ] = None,
    admin_allow: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--admin-allow",
            metavar="CIDR",
            help="Serve admin requests (KV writes, write-permission changes, topic deletion, "
            "config updates) to peers in this address block (repeatable; 0.0.0.0/0 and ::/0 "
            "open them to all). Given at all, it replaces the default, so add 127.0.0.0/8 to "
            "keep local access. Broker traffic and reads are always served. "
            "[default: 127.0.0.0/8, ::1]",
            show_default=False,
        ),
    ] = None,
    broker_allow: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--broker-allow",
            metavar="CIDR[,CIDR...]",
            help="Accept broker-side writes (REGISTER_BROKER, UNREGISTER_BROKER, "
            "BROKER_HEARTBEAT, QUERY_DATA_VERSION, REGISTER_TOPIC_IN_NAMESRV) only from these "
            "addresses; others get NO_PERMISSION (16) and a log line naming the source and the "
            "broker it claimed. Repeatable; reads stay open to all. Also nsctl.brokerAllow in "
            "-c; the option wins. [default: from anywhere, as Java]",
            show_default=False,
        ),
    ] = None,
    broker_require_cert: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--broker-require-cert",
            metavar="CA_FILE",
            help="With TLS: accept broker-side writes only over TLS from peers whose "
            "certificate this CA verified (peers are asked for one; clients need none).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus/OpenMetrics text at http://--metrics-host:PORT/metrics "
            "(0: a free port, logged). Without it, no metrics endpoint. Metrics (type, labels): "
            + METRICS_HELP,
            show_default=False,
        ),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option("--metrics-host", help="Address the metrics endpoint binds."),
    ] = "127.0.0.1",
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also run a demo cluster of stand-in brokers (broker-a master and slave, "
            "broker-b; a few topics) on free loopback ports: they register with this server, "
            "answer broker queries and topic and group writes as a 5.3.3 broker does (with zero "
            "traffic and a version saying they are stand-ins), and unregister on exit. The demo "
            "keeps its KV store in a private temporary directory, removed on exit, unless "
            "--kv-config-path (or kvConfigPath in -c) names one.",
        ),
    ] = False,
) -> None:
    # Heavy imports stay here so that other commands start fast.

    from nsctl.server.config import ConfigError, TLSSetupError
    from nsctl.server.kvstore import KVStoreError

    _setup_logging(log_level, log_format)
    try:
        config = build_config(
            config_file=config_file,
            listen=listen,
            port=port,
            kv_config_path=kv_config_path,
            scan_interval=scan_interval,
            broker_expire=broker_expire,
            order_message_enable=order_message_enable,
            idle_timeout=idle_timeout,
            admin_allow=admin_allow,
            broker_allow=broker_allow,
        )
    except ConfigError as exc:
        _fail(str(exc), code=2)
    config.tls = _tls_settings(tls_cert, tls_key, tls_mode, broker_require_cert)
    config.broker_ca = None if broker_require_cert is None else str(broker_require_cert)
    config.max_connections = max_connections
    config.max_frame_length = max_frame_length
    config.max_buffered_bytes = max_buffered_bytes
    config.answer_cache = answer_cache
    run = _event_loop_runner(event_loop)
    # The demo's keys stay out of the store a real NameServer on this host may use.
    demo_store = None
    if demo and kv_config_path is None and "kvConfigPath" not in config.file_keys:
        import tempfile

        demo_store = tempfile.TemporaryDirectory(prefix="nsctl-demo-", ignore_cleanup_errors=True)
        config.set("kvConfigPath", str(Path(demo_store.name) / "kvConfig.json"))
    try:
        metrics = None if metrics_port is None else (metrics_host, metrics_port)
        run(_serve_until_signalled(config, demo=demo, metrics=metrics))
    except KeyboardInterrupt:  # before the signal handlers were in place
        raise typer.Exit(0) from None
    except KVStoreError as exc:
        _fail(str(exc))
    except TLSSetupError as exc:
        _fail(str(exc), code=2)
    except OSError as exc:
        _fail(f"cannot listen on {config.text('bindAddress')}:{config.number('listenPort')}: {exc}")
    finally:
        if demo_store is not None:
            demo_store.cleanup()


def _tls_settings(
    cert: Path | None, key: Path | None, mode: str | None, client_ca: Path | None = None
):
    from nsctl.server.config import TLS_MODES, TLSSettings

    if cert is None and key is None:
        if mode is not None:
            _fail("--tls-mode needs --tls-cert and --tls-key", code=2)
        if client_ca is not None:
            _fail("--broker-require-cert needs --tls-cert and --tls-key", code=2)
        return None
    if cert is None or key is None:
        _fail("TLS needs both --tls-cert and --tls-key", code=2)
    if mode is not None and mode not in TLS_MODES:
        _fail(f"unknown TLS mode {mode!r}; use {' or '.join(TLS_MODES)}", code=2)
    ca = None if client_ca is None else str(client_ca)
    return TLSSettings(str(cert), str(key), mode or "permissive", client_ca=ca)


def _event_loop_runner(choice: str):
    """How to run the server's coroutine. uvloop is not a dependency: on the benchmark it did not
    beat asyncio (the protocol work, not the loop, is the cost), so it stays a choice."""
    import asyncio

    if choice == "asyncio":
        return asyncio.run
    if choice != "uvloop":
        _fail(f"unknown event loop {choice!r}; use asyncio or uvloop", code=2)
    try:
        import uvloop
    except ImportError:
        _fail("uvloop is not installed (pip install uvloop)", code=2)
    return uvloop.run


def build_config(
    *,
    config_file: str | Path | None = None,
    listen: str | None = None,
    port: int | None = None,
    kv_config_path: str | Path | None = None,
    scan_interval: float | None = None,
    broker_expire: float | None = None,
    order_message_enable: bool = False,
    idle_timeout: float | None = None,
    admin_allow: list[str] | None = None,
    broker_allow: list[str] | None = None,
):
    """The server's settings from the `-c` file and the options: command-line values win;
    otherwise the file's; otherwise nsctl's defaults. A value that cannot be used raises
    `nsctl.server.config.ConfigError`, one line naming the option or the file and key."""
    from nsctl.server.config import (
        JAVA_INT_MAX,
        ConfigError,
        NamesrvConfig,
        parse_network_list,
        parse_networks,
    )

    config = NamesrvConfig()
    if config_file is not None:
        try:
            config.load_properties_file(config_file)
        except ConfigError as exc:
            raise ConfigError(f"-c {_shown(config_file)}: {exc}", key=exc.key) from None

    def option(name: str, key: str, value) -> None:
        try:
            config.set(key, value)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}", key=key) from None

    if listen is not None or "bindAddress" not in config.file_keys:
        option("--listen", "bindAddress", DEFAULT_LISTEN if listen is None else listen)
    if port is not None or "listenPort" not in config.file_keys:
        option("--port", "listenPort", DEFAULT_PORT if port is None else port)
    if kv_config_path is not None:
        option("--kv-config-path", "kvConfigPath", _expand(kv_config_path))
    if scan_interval is not None:
        seconds = _seconds("--scan-interval", scan_interval, JAVA_INT_MAX / 1000)
        option("--scan-interval", "scanNotActiveBrokerInterval", max(1, round(seconds * 1000)))
    if broker_expire is not None:
        seconds = _seconds("--broker-expire", broker_expire, JAVA_INT_MAX / 1000)
        config.broker_expire_ms = max(1, round(seconds * 1000))
    if order_message_enable:
        option("--order-message-enable", "orderMessageEnable", True)
    if idle_timeout is not None:
        seconds = _seconds("--idle-timeout", idle_timeout, JAVA_INT_MAX, zero=True)
        option("--idle-timeout", "serverChannelMaxIdleTimeSeconds", round(seconds))
    if admin_allow:
        try:
            config.admin_allow = parse_networks(admin_allow)
        except ValueError as exc:
            raise ConfigError(f"--admin-allow: {exc}") from None
    if broker_allow:
        try:
            listed = [parse_network_list(text) for text in broker_allow]
            config.broker_allow = tuple(n for networks in listed for n in networks)
        except ValueError as exc:
            raise ConfigError(f"--broker-allow: {exc}") from None
    return config


def _seconds(name: str, value: float, most: float, *, zero: bool = False) -> float:
    """A duration option: a finite number of seconds, positive (or zero, where it means off)."""
    import math

    from nsctl.server.config import ConfigError

    bounds = f"from 0 to {most:.10g}" if zero else f"above 0 and at most {most:.10g}"
    if not (isinstance(value, (int, float)) and math.isfinite(value)) or not (
        (value >= 0 if zero else value > 0) and value <= most
    ):
        raise ConfigError(f"{name}: needs a number of seconds {bounds}, not {value!r}")
    return float(value)


def _expand(path: str | Path) -> str:
    text = str(path)
    try:
        return str(Path(text).expanduser()) if text.startswith("~") else text
    except RuntimeError:  # no home directory to expand ~ to
        return text


def _shown(path: str | Path) -> str:
    """The path whole, with control characters escaped so that the message stays one line."""
    return repr(str(path))[1:-1]


async def _serve_until_signalled(config, *, demo: bool, metrics=None) -> None:
    import asyncio
    import logging
    import signal

    from nsctl.server.server import NameServer

    server = NameServer(config)
    await server.start()
    endpoint = None
    if metrics is not None:
        from nsctl.server.metrics import MetricsEndpoint

        host, port = metrics
        try:
            endpoint = MetricsEndpoint(server, host, port)
        except OSError as exc:
            await server.stop()
            _fail(f"cannot serve metrics on {host}:{port}: {exc}")
        from nsctl.server.events import event

        logging.getLogger("nsctl.server.metrics").info(
            "metrics served at %s", endpoint.url, extra=event("metrics.started", url=endpoint.url)
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"NameServer listening on {server.address}", flush=True)
    brokers = []
    if demo:
        brokers = await _start_demo_cluster(_client_address(server.address), config.tls)
    try:
        await stop.wait()
    finally:
        # The demo brokers unregister while the server still answers.
        await asyncio.gather(*(broker.stop() for broker in brokers))
        await server.stop()
        if endpoint is not None:
            endpoint.close()


async def _start_demo_cluster(address: str, tls) -> list:
    """The demo's stand-in brokers on this loop, listening and registered; prints one line
    naming them once they all are."""
    import asyncio

    from nsctl.standin.demo import DEMO_CLUSTER, DEMO_TOPICS, demo_standins, describe

    brokers = demo_standins([address], ssl_context=_demo_ssl_context(tls))
    await asyncio.gather(*(broker.start() for broker in brokers))
    print(
        f"Demo cluster {DEMO_CLUSTER} registered, stand-in brokers answering: {describe(brokers)}; "
        f"topics {', '.join(DEMO_TOPICS)}",
        flush=True,
    )
    return brokers


def _demo_ssl_context(tls):
    """The demo brokers talk to this very process over loopback: TLS only where plaintext is
    refused, and nothing to verify."""
    if tls is None or tls.mode != "enforcing":
        return None
    from nsctl.client.tls import client_context

    return client_context(insecure=True)


def _client_address(listen_address: str) -> str:
    """Where a local client reaches a server bound to a wildcard address."""
    host, _, port = listen_address.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "::", "[::]", "") else listen_address


def _setup_logging(level: str, log_format: str = "text") -> None:
    import logging

    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        _fail(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR", code=2)
    if log_format not in ("text", "json"):
        _fail(f"unknown log format {log_format!r}; use text or json", code=2)
    if log_format == "json":
        from nsctl.server.events import JsonFormatter

        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=numeric, handlers=[handler], force=True)


def _fail(message: str, code: int = 1) -> None:
    print(f"nsctl serve: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(code)
