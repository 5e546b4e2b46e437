"""Acting as a broker: registerBroker (kept alive like a real broker) and unregisterBroker."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from nsctl.cli.failures import EXIT_UNREACHABLE, EXIT_USAGE, fail
from nsctl.cli.fanout import absent_on, report_fanout
from nsctl.cli.options import nameserver_command
from nsctl.cli.target import Output, Target
from nsctl.protocol.register import TopicConfig

if TYPE_CHECKING:
    from nsctl.client.broker import BrokerAgent
    from nsctl.client.errors import NameServerError
    from nsctl.protocol.register import RegisterBrokerResult

ClusterOption = Annotated[
    str, typer.Option("-c", "--clusterName", help="Cluster name.", show_default=False)
]
BrokerOption = Annotated[
    str, typer.Option("-b", "--brokerName", help="Broker name.", show_default=False)
]
AddressOption = Annotated[
    str,
    typer.Option("-a", "--brokerAddr", help="Broker address HOST:PORT.", show_default=False),
]
BrokerIdOption = Annotated[
    int, typer.Option("-i", "--brokerId", min=0, help="0 = master, 1.. = slaves.")
]

ONCE_NOTE = (
    "a NameServer drops a broker as soon as the connection it registered on closes, "
    "so this registration ends now; run without --once to keep it"
)


def parse_topic(spec: str) -> TopicConfig:
    """`TOPIC[:READ:WRITE:PERM]`, defaults 8 read and write queues, perm 6 (read+write)."""
    name, *numbers = spec.split(":")
    if not name or len(numbers) not in (0, 3):
        raise typer.BadParameter(f"{spec!r}: expected TOPIC or TOPIC:READ:WRITE:PERM")
    try:
        read, write, perm = (int(n) for n in numbers) if numbers else (8, 8, 6)
    except ValueError:
        raise typer.BadParameter(f"{spec!r}: READ, WRITE and PERM must be integers") from None
    if read < 0 or write < 0 or not 0 <= perm <= 15:
        raise typer.BadParameter(f"{spec!r}: queue counts must be >= 0 and perm 0..15")
    return TopicConfig(name, read, write, perm)


@nameserver_command(
    "registerBroker",
    help="Act as a broker: register on every NameServer and re-register every 30 s (like a real "
    "broker) until interrupted, then unregister. Prints one line per NameServer once registered.",
)
def register_broker(
    target: Target,
    cluster: ClusterOption,
    broker_name: BrokerOption,
    broker_addr: AddressOption,
    broker_id: BrokerIdOption = 0,
    ha_addr: Annotated[
        str | None, typer.Option("--ha-addr", help="HA address (default: port + 1).")
    ] = None,
    topics: Annotated[
        list[str] | None,
        typer.Option("-t", "--topic", help="TOPIC[:READ:WRITE:PERM], repeatable."),
    ] = None,
    system_topics: Annotated[
        bool,
        typer.Option(
            "--system-topics/--no-system-topics",
            help="Also register the topics every real broker carries (TBW102, its own name...).",
        ),
    ] = True,
    compressed: Annotated[
        bool, typer.Option("--compressed", help="Send the compressed (zlib) body.")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Register once and exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between registrations.")
    ] = 30.0,
    give_up_after: Annotated[
        float | None,
        typer.Option(
            "--give-up-after",
            min=0.1,
            help="Without --once: unregister and exit 3 when no NameServer has accepted a "
            "registration for this many seconds (default: keep trying, as a broker does).",
        ),
    ] = None,
    listen: Annotated[
        bool,
        typer.Option(
            "--listen",
            help="Also answer at the -a address as a stand-in broker (its topics and groups, "
            "runtime figures, topic and group writes, which it registers as a broker does), "
            "so broker commands work against it.",
        ),
    ] = False,
) -> None:
    configs = {config.topic_name: config for config in map(parse_topic, topics or [])}
    from nsctl.client.discovery import split_host_port

    for flag, value in (("-c/--clusterName", cluster), ("-b/--brokerName", broker_name)):
        if not value.strip():
            fail(f"{flag} must not be empty (a NameServer ignores such a broker)", EXIT_USAGE)
    try:
        split_host_port(broker_addr)
    except ValueError as error:
        fail(str(error).replace("NameServer address", "broker address"), EXIT_USAGE)
    host, _, port = broker_addr.rpartition(":")
    if once and give_up_after is not None:
        fail(
            "--give-up-after bounds a broker that keeps trying: it has no use with --once",
            EXIT_USAGE,
        )
    if listen and once:
        fail("--listen answers until interrupted: it cannot be combined with --once", EXIT_USAGE)
    import asyncio

    from nsctl.client.broker import BrokerAgent

    agent = BrokerAgent(
        target.addresses,
        cluster_name=cluster,
        broker_name=broker_name,
        broker_addr=broker_addr,
        broker_id=broker_id,
        ha_server_addr=ha_addr or f"{host}:{int(port) + 1}",
        topics=configs,
        include_system_topics=system_topics,
        compressed=compressed,
        register_interval=interval,
        timeout=target.timeout,
        ssl_context=target.ssl_context,
        credentials=target.credentials,
    )
    if once:
        results = asyncio.run(_register_once(agent, target.retries, target))
        note = ONCE_NOTE if target.output == Output.json else None
        report_fanout(
            target,
            results,
            render=lambda ok: _print_registered(target, agent, ok),
            json_fields=lambda address, result: _result_fields(result),
            summary={**_broker_fields(agent), "note": note},
        )
        if note is None:
            print(f"note: {ONCE_NOTE}", file=sys.stderr)
        return
    standin = None
    if listen:
        from nsctl.standin.broker import StandInBroker

        standin = StandInBroker(
            cluster,
            broker_name,
            broker_id,
            host=host,
            port=int(port),
            register_interval=interval,
            topics=list(configs.values()),
            with_system_topics=system_topics,
            agent=agent,
        )
    code = asyncio.run(_keep_registered(target, agent, give_up_after, standin))
    raise typer.Exit(code)


async def _register_once(agent: BrokerAgent, retries: int, target: Target) -> dict:
    try:
        results = await agent.register_once(retries=retries)
        return {
            address: outcome
            if isinstance(outcome, BaseException)
            else (await _not_listed(agent, address, target)) or outcome
            for address, outcome in results.items()
        }
    finally:
        await agent.aclose()  # this is what ends the registration on every NameServer


async def _not_listed(agent: BrokerAgent, address: str, target: Target):
    """None when the NameServer at `address` lists the broker as registered (asked on a
    connection of its own); else the error that says what it holds instead. A NameServer
    answers SUCCESS to registrations it ignores (a blank name, a single-topic first one)."""
    from nsctl.client.client import AsyncNameServerClient
    from nsctl.client.errors import NameServerError

    try:
        async with AsyncNameServerClient(address, **target.connection) as client:
            info = await client.get_broker_cluster_info()
    except NameServerError as error:
        return error
    broker = info.broker_addr_table.get(agent.broker_name)
    if broker is None or broker.broker_addrs.get(agent.broker_id) != agent.broker_addr:
        holds = "nothing" if broker is None else broker.broker_addrs
        return NameServerError(
            f"the NameServer accepted the registration but does not list {agent.broker_name} "
            f"id {agent.broker_id} at {agent.broker_addr} (it holds {holds} for that name)"
        )
    if agent.broker_name not in info.cluster_addr_table.get(agent.cluster_name, ()):
        return NameServerError(
            f"the NameServer lists {agent.broker_name} but not in cluster {agent.cluster_name}"
        )
    return None


async def _keep_registered(
    target: Target, agent: BrokerAgent, give_up_after: float | None, standin=None
) -> int:
    """Run the agent until SIGINT/SIGTERM (exit 0) or until no NameServer has accepted a
    registration for `give_up_after` seconds (exit 3); unregister either way. A `standin`
    answers at the broker's address meanwhile (from before the first registration)."""
    import asyncio
    import contextlib
    import os
    import signal
    import time

    from nsctl.cli.address_refresh import AddressRefresher
    from nsctl.cli.render import reader_gone

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def again() -> None:
        # A second signal while unregistering: the user wants out now.
        print("nsctl: interrupted", file=sys.stderr, flush=True)
        os._exit(130)

    def first() -> None:
        stop.set()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, again)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, first)
    announced: set[str] = set()
    last_accepted = time.monotonic()

    def on_registered(address: str, outcome: RegisterBrokerResult | NameServerError) -> None:
        nonlocal last_accepted
        if isinstance(outcome, BaseException):
            _registration_failed(target, agent, address, outcome)
            announced.discard(address)
            return
        last_accepted = time.monotonic()
        if address not in announced:
            announced.add(address)
            checks.append(asyncio.ensure_future(announce(address, outcome)))

    checks: list[asyncio.Future] = []

    async def announce(address: str, outcome: RegisterBrokerResult) -> None:
        """Say `registered` only once the NameServer lists the broker."""
        problem = await _not_listed(agent, address, target)
        if problem is None:
            _print_registered(target, agent, {address: outcome})
        else:
            _registration_failed(target, agent, address, problem)
            announced.discard(address)

    gave_up = False

    async def supervise() -> None:
        """Follow the address server, and give up when nothing accepts us for too long."""
        nonlocal gave_up
        refresher = AddressRefresher(target)
        while not stop.is_set():
            addresses = await refresher.changed()
            if addresses is not None:
                added, removed = agent.set_addresses(addresses)
                announced.difference_update(removed)
                _print_event(
                    target,
                    agent,
                    "namesrvs_changed",
                    f"NameServers now {';'.join(addresses)}",
                    {"namesrvs": addresses, "added": added, "removed": removed},
                )
            if give_up_after is not None and time.monotonic() - last_accepted > give_up_after:
                gave_up = True
                stop.set()
                return
            if reader_gone():
                # `registerBroker ... | head -1`: the pipeline waits for us; end as watch does.
                stop.set()
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    if standin is not None:
        try:
            await standin.start()
        except OSError as error:
            fail(f"cannot listen on {standin.host}:{standin.port}: {error.strerror or error}")
    supervisor = asyncio.create_task(supervise())
    try:
        results = await agent.run(stop, on_registered=on_registered)
    finally:
        supervisor.cancel()
        for check in checks:
            check.cancel()
        if standin is not None:
            await standin.stop()
    _report_unregistered(target, agent, results)
    if gave_up:
        print(
            f"nsctl: gave up: no NameServer accepted {agent.broker_name} for {give_up_after:g} s",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    return 0


def _registration_failed(
    target: Target, agent: BrokerAgent, address: str, error: BaseException
) -> None:
    """One stderr line, and with -o json a `register_failed` event as well (scripts reading
    the event stream learn of it there)."""
    from nsctl.cli.failures import classify

    code, message = classify(error)
    if target.output == Output.json:
        _print_event(
            target,
            agent,
            "register_failed",
            "",
            {"namesrv": address, "error": message, "exitCode": code},
        )
    print(f"nsctl: {address}: registration failed: {message}", file=sys.stderr)


def _report_unregistered(
    target: Target, agent: BrokerAgent, results: dict[str, NameServerError | None]
) -> None:
    """One JSON event per NameServer with -o json; otherwise one line that says how it went.
    NameServers that never accepted the broker are not asked (nothing to undo there)."""
    from nsctl.cli.failures import classify

    never = [a for a in agent.addresses if a not in results]
    if target.output == Output.json:
        for address, error in results.items():
            extra = {"ok": error is None}
            if error is not None:
                extra["error"] = classify(error)[1]
            _print_event(target, agent, "unregistered", "", {"namesrv": address, **extra})
        for address in never:
            _print_event(
                target, agent, "unregistered", "", {"namesrv": address, "ok": True, "held": False}
            )
        return
    done = [address for address, error in results.items() if error is None]
    line = f"unregistered {agent.broker_name} from {len(done)} of {len(results)} NameServer(s)"
    failed = [f"{a}: {classify(e)[1]}" for a, e in results.items() if e is not None]
    if failed:
        line += "; failed on " + "; ".join(failed)
    if never:
        line += f"; never registered on {', '.join(never)}"
    print(line, file=sys.stderr)


def _broker_fields(agent: BrokerAgent) -> dict:
    return {
        "cluster": agent.cluster_name,
        "brokerName": agent.broker_name,
        "brokerId": agent.broker_id,
        "brokerAddr": agent.broker_addr,
    }


def _result_fields(result: RegisterBrokerResult) -> dict:
    return {
        "masterAddr": result.master_addr,
        "haServerAddr": result.ha_server_addr,
        "orderTopicConfig": result.kv_table.table if result.kv_table else None,
    }


def _print_event(target: Target, agent: BrokerAgent, event: str, text: str, fields: dict) -> None:
    """A JSON line on stdout with -o json; `text` on stderr otherwise (if any)."""
    from nsctl.cli.render import emit_json_line

    if target.output == Output.json:
        emit_json_line({"event": event, **_broker_fields(agent), **fields})
    elif text:
        print(f"nsctl: {text}", file=sys.stderr)


def _print_registered(
    target: Target, agent: BrokerAgent, results: dict[str, RegisterBrokerResult]
) -> None:
    from nsctl.cli.render import emit_json_line, write

    for address, result in results.items():
        if target.output == Output.json:
            emit_json_line(
                {
                    "event": "registered",
                    "namesrv": address,
                    **_broker_fields(agent),
                    **_result_fields(result),
                }
            )
        else:
            who = f"{agent.broker_name} (id {agent.broker_id}, {agent.broker_addr})"
            line = f"registered {who} on {address}"
            if result.master_addr:
                line += f"; master {result.master_addr}, HA {result.ha_server_addr}"
            write(line + "\n")


@nameserver_command(
    "unregisterBroker",
    help="Unregister a broker from every NameServer, and say what each one really did: a "
    "NameServer removes the address under that broker name whatever -i says, and a -c that is "
    "not the broker's own cluster is refused (it would leave the name there with no address).",
)
def unregister_broker(
    target: Target,
    cluster: ClusterOption,
    broker_name: BrokerOption,
    broker_addr: AddressOption,
    broker_id: BrokerIdOption = 0,
) -> None:
    from nsctl.client.errors import NameServerError
    from nsctl.protocol.unregister import unregister_effect

    def unregister(client) -> dict:
        """Predict what this NameServer will do (its own rules, from its cluster table),
        refuse a -c that would leave a stale name, send, then read back what happened."""
        info = client.get_broker_cluster_info()
        broker = info.broker_addr_table.get(broker_name)
        members = {c: list(names) for c, names in info.cluster_addr_table.items()}
        listed_in = sorted(c for c, names in members.items() if broker_name in names)
        registered_here = broker is not None and broker_addr in broker.broker_addrs.values()
        if registered_here and cluster not in listed_in:
            raise NameServerError(
                f"broker {broker_name} is in cluster {', '.join(listed_in) or '(none)'}, "
                f"not {cluster}: that would remove its address but leave its name listed "
                f"with no address (5.3.3 does so too); nothing sent"
            )
        effect = unregister_effect(
            broker.broker_addrs if broker is not None else None,
            members,
            cluster_name=cluster,
            broker_name=broker_name,
            broker_addr=broker_addr,
        )
        client.unregister_broker(
            cluster_name=cluster,
            broker_name=broker_name,
            broker_addr=broker_addr,
            broker_id=broker_id,
        )
        after = client.get_broker_cluster_info().broker_addr_table.get(broker_name)
        left = sorted(
            i for i, a in (after.broker_addrs if after else {}).items() if a == broker_addr
        )
        if left:
            raise NameServerError(
                f"the NameServer still lists {broker_name} at {broker_addr} (id "
                f"{', '.join(map(str, left))}) after unregistering"
            )
        return {
            "existed": effect.removed,
            "removedIds": list(effect.removed_ids),
            "groupRemoved": effect.group_removed,
            "clusterRemoved": effect.cluster_removed,
        }

    def line(address: str, done: dict) -> str:
        text = f"unregistered {broker_name} ({broker_addr}) from {address}"
        if not done["existed"]:
            return text + " (it was not registered)"
        ids = done["removedIds"]
        if ids != [broker_id]:
            text += (
                f" (as id {', '.join(map(str, ids))}: a NameServer removes the address whatever "
                "-i says)"
            )
        return text

    results = target.manager.broadcast(unregister)
    report_fanout(
        target,
        results,
        ok_line=line,
        json_fields=lambda address, done: done,
        summary={
            **{"cluster": cluster, "brokerName": broker_name},
            "brokerId": broker_id,
            "brokerAddr": broker_addr,
        },
        warning=absent_on(
            {a: (v["existed"] if isinstance(v, dict) else v) for a, v in results.items()},
            f"broker {broker_name} (id {broker_id}, {broker_addr})",
            "was not registered",
            "nothing to unregister",
        ),
    )
