"""Acting as a broker: registerBroker (kept alive like a real broker) and unregisterBroker."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from nsctl.cli.common import EXIT_USAGE, Output, Target, fail, nameserver_command
from nsctl.cli.fanout import report_fanout
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
    "note: a NameServer drops a broker as soon as the connection it registered on closes, "
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
) -> None:
    configs = {config.topic_name: config for config in map(parse_topic, topics or [])}
    host, _, port = broker_addr.rpartition(":")
    if not host or not port.isdigit():
        fail(f"broker address {broker_addr!r} is not HOST:PORT", EXIT_USAGE)
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
    )
    if once:
        results = asyncio.run(_register_once(agent))
        report_fanout(
            target,
            results,
            render=lambda ok: _print_registered(target, agent, ok),
            json_fields=lambda address, result: _result_fields(result),
            summary={"brokerName": broker_name, "brokerId": broker_id, "note": ONCE_NOTE},
        )
        print(ONCE_NOTE, file=sys.stderr)
        return
    asyncio.run(_keep_registered(target, agent))


async def _register_once(agent: BrokerAgent) -> dict:
    try:
        return await agent.register_once()
    finally:
        await agent.aclose()  # this is what ends the registration on every NameServer


async def _keep_registered(target: Target, agent: BrokerAgent) -> None:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    announced: set[str] = set()

    def on_registered(address: str, outcome: RegisterBrokerResult | NameServerError) -> None:
        if isinstance(outcome, BaseException):
            print(f"nsctl: {address}: registration failed: {outcome}", file=sys.stderr)
            announced.discard(address)
        elif address not in announced:
            announced.add(address)
            _print_registered(target, agent, {address: outcome})

    await agent.run(stop, on_registered=on_registered)
    print(
        f"unregistered {agent.broker_name} from {len(target.addresses)} NameServer(s)",
        file=sys.stderr,
    )


def _result_fields(result: RegisterBrokerResult) -> dict:
    return {
        "masterAddr": result.master_addr,
        "haServerAddr": result.ha_server_addr,
        "orderTopicConfig": result.kv_table.table if result.kv_table else None,
    }


def _print_registered(
    target: Target, agent: BrokerAgent, results: dict[str, RegisterBrokerResult]
) -> None:
    for address, result in results.items():
        if target.output == Output.json:
            line = json.dumps(
                {
                    "event": "registered",
                    "namesrv": address,
                    "brokerName": agent.broker_name,
                    **_result_fields(result),
                }
            )
        else:
            who = f"{agent.broker_name} (id {agent.broker_id}, {agent.broker_addr})"
            line = f"registered {who} on {address}"
            if result.master_addr:
                line += f"; master {result.master_addr}, HA {result.ha_server_addr}"
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


@nameserver_command("unregisterBroker", help="Unregister a broker from every NameServer.")
def unregister_broker(
    target: Target,
    cluster: ClusterOption,
    broker_name: BrokerOption,
    broker_addr: AddressOption,
    broker_id: BrokerIdOption = 0,
) -> None:
    results = target.manager.broadcast(
        lambda client: client.unregister_broker(
            cluster_name=cluster,
            broker_name=broker_name,
            broker_addr=broker_addr,
            broker_id=broker_id,
        )
    )
    report_fanout(
        target,
        results,
        ok_line=lambda address, _: f"unregistered {broker_name} ({broker_addr}) from {address}",
        summary={"brokerName": broker_name, "brokerAddr": broker_addr},
    )
