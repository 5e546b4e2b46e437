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
        typer.Option("--kv-config-path", help="KV store file. [default: ~/namesrv/kvConfig.json]"),
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
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also register a demo cluster (broker-a master and slave, broker-b, a few "
            "topics) through the protocol and keep it registered.",
        ),
    ] = False,
) -> None:
    # Heavy imports stay here so that other commands start fast.

    from nsctl.server.config import NamesrvConfig, TLSSetupError, parse_networks
    from nsctl.server.kvstore import KVStoreError

    _setup_logging(log_level)
    config = NamesrvConfig()
    if config_file is not None:
        config.load_properties_file(config_file)
    config.tls = _tls_settings(tls_cert, tls_key, tls_mode)
    config.max_connections = max_connections
    config.max_frame_length = max_frame_length
    config.answer_cache = answer_cache
    if admin_allow:
        try:
            config.admin_allow = parse_networks(admin_allow)
        except ValueError as exc:
            _fail(f"--admin-allow: {exc}", code=2)
    _apply_options(
        config,
        listen=listen,
        port=port,
        kv_config_path=kv_config_path,
        scan_interval=scan_interval,
        broker_expire=broker_expire,
        order_message_enable=order_message_enable,
        idle_timeout=idle_timeout,
    )
    if not 0 <= config.number("listenPort") <= 65535:
        _fail(f"listenPort {config.number('listenPort')} is outside 0..65535", code=2)
    run = _event_loop_runner(event_loop)
    try:
        run(_serve_until_signalled(config, demo=demo))
    except KeyboardInterrupt:  # before the signal handlers were in place
        raise typer.Exit(0) from None
    except KVStoreError as exc:
        _fail(str(exc))
    except TLSSetupError as exc:
        _fail(str(exc), code=2)
    except OSError as exc:
        _fail(f"cannot listen on {config.text('bindAddress')}:{config.number('listenPort')}: {exc}")


def _tls_settings(cert: Path | None, key: Path | None, mode: str | None):
    from nsctl.server.config import TLS_MODES, TLSSettings

    if cert is None and key is None:
        if mode is not None:
            _fail("--tls-mode needs --tls-cert and --tls-key", code=2)
        return None
    if cert is None or key is None:
        _fail("TLS needs both --tls-cert and --tls-key", code=2)
    if mode is not None and mode not in TLS_MODES:
        _fail(f"unknown TLS mode {mode!r}; use {' or '.join(TLS_MODES)}", code=2)
    return TLSSettings(str(cert), str(key), mode or "permissive")


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


def _apply_options(config, **options) -> None:
    """Command-line values win; otherwise the file's; otherwise nsctl's defaults."""
    if options["listen"] is not None or "bindAddress" not in config.file_keys:
        config.set("bindAddress", options["listen"] or DEFAULT_LISTEN)
    if options["port"] is not None or "listenPort" not in config.file_keys:
        config.set("listenPort", DEFAULT_PORT if options["port"] is None else options["port"])
    if options["kv_config_path"] is not None:
        config.set("kvConfigPath", str(options["kv_config_path"].expanduser()))
    if options["scan_interval"] is not None:
        config.set("scanNotActiveBrokerInterval", max(1, round(options["scan_interval"] * 1000)))
    if options["broker_expire"] is not None:
        config.broker_expire_ms = max(1, round(options["broker_expire"] * 1000))
    if options["order_message_enable"]:
        config.set("orderMessageEnable", True)
    if options["idle_timeout"] is not None:
        config.set("serverChannelMaxIdleTimeSeconds", max(0, round(options["idle_timeout"])))


async def _serve_until_signalled(config, *, demo: bool) -> None:
    import asyncio
    import signal

    from nsctl.server.server import NameServer

    server = NameServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"NameServer listening on {server.address}", flush=True)
    agents = []
    if demo:
        agents = await _start_demo_cluster(_client_address(server.address), stop, config.tls)
    try:
        await stop.wait()
    finally:
        # The demo brokers unregister while the server still answers.
        await asyncio.gather(*agents)
        await server.stop()


async def _start_demo_cluster(address: str, stop, tls) -> list:
    """Demo brokers as tasks on this loop; prints one line once they are all registered."""
    import asyncio

    from nsctl.cli.demo_cluster import DEMO_BROKERS, DEMO_CLUSTER, demo_agents

    registered: set[tuple[str, str]] = set()
    everyone = asyncio.Event()

    def on_registered(agent_key: tuple[str, str]):
        def note(_address: str, outcome) -> None:
            if not isinstance(outcome, BaseException):
                registered.add(agent_key)
                if len(registered) == len(DEMO_BROKERS):
                    everyone.set()

        return note

    tasks = [
        asyncio.create_task(
            agent.run(stop, on_registered=on_registered((agent.broker_name, agent.broker_addr)))
        )
        for agent in demo_agents([address], ssl_context=_demo_ssl_context(tls))
    ]
    await asyncio.wait_for(everyone.wait(), timeout=10)
    print(
        f"Demo cluster {DEMO_CLUSTER} registered: broker-a (master + slave), broker-b; "
        "topics DemoTopic, OrderTopic, ReadOnlyTopic",
        flush=True,
    )
    return tasks


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


def _setup_logging(level: str) -> None:
    import logging

    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        _fail(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR", code=2)
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=numeric, handlers=[handler], force=True)


def _fail(message: str, code: int = 1) -> None:
    print(f"nsctl serve: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(code)
