"""`nsctl demo`: an embedded NameServer, a demo cluster registered over TCP, and a tour."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nsctl.cli.options import plain_command
from nsctl.cli.target import Output, Target


@plain_command(
    "demo",
    help="Start an embedded NameServer on a free loopback port and a demo cluster of stand-in "
    "brokers that register with it, run clusterList, updateTopic --wait, topicRoute, topicList "
    "and the KV commands against them, and exit.",
)
def demo(
    output: Annotated[
        Output, typer.Option("-o", "--output", case_sensitive=False, help="table, json or plain.")
    ] = Output.table,
) -> None:
    import asyncio

    from nsctl.server import EmbeddedNameServer

    with EmbeddedNameServer(host="127.0.0.1", port=0) as server:
        _say(f"Embedded NameServer listening on {server.address}")
        asyncio.run(_run_demo(server.address, output))
    _say(
        "Demo NameServer stopped. Try it yourself: nsctl serve --demo, then nsctl clusterList "
        "-n 127.0.0.1:9876"
    )


async def _run_demo(address: str, output: Output) -> None:
    import asyncio

    from nsctl.standin.demo import DEMO_CLUSTER, demo_standins, describe

    brokers = demo_standins([address])
    await asyncio.gather(*(broker.start() for broker in brokers))
    try:
        _say(f"Registered {DEMO_CLUSTER}, stand-in brokers answering: {describe(brokers)}")
        await asyncio.to_thread(_tour, address, output)
    finally:
        await asyncio.gather(*(broker.stop() for broker in brokers))


def _tour(address: str, output: Output) -> None:
    from nsctl.cli.commands.clusters import cluster_list_command
    from nsctl.cli.commands.kv import get_kv, get_kv_list, put_kv
    from nsctl.cli.commands.topic_admin import update_topic
    from nsctl.cli.commands.topics import topic_list, topic_route

    def target() -> Target:
        return Target(address, output, timeout=3.0, retries=1, address_server=None, verbose=False)

    steps = [
        ("clusterList", lambda t: cluster_list_command(t)),
        (
            "updateTopic -t Orders -c DemoCluster -r 4 -w 4 --wait 10",
            lambda t: update_topic(
                t, topic="Orders", cluster="DemoCluster", read_queues=4, write_queues=4, wait=10.0
            ),
        ),
        ("topicRoute -t Orders", lambda t: topic_route(t, topic="Orders")),
        ("topicList", lambda t: topic_list(t)),
        (
            "putKV -s demo -k greeting -v hello",
            lambda t: put_kv(t, namespace="demo", key="greeting", value="hello"),
        ),
        ("getKV -s demo -k greeting", lambda t: get_kv(t, namespace="demo", key="greeting")),
        ("getKVList -s demo", lambda t: get_kv_list(t, namespace="demo")),
    ]
    from nsctl.cli.render import collect_json, emit_json

    documents = []
    for label, step in steps:
        _say(f"\n$ nsctl {label} -n {address}")
        current = target()
        try:
            with collect_json() as outputs:
                step(current)
            if output == Output.json:
                documents.append({"command": f"nsctl {label}", "output": outputs[0]})
        finally:
            current.close()
    if output == Output.json:
        # One document, so that `nsctl demo -o json | jq` works.
        emit_json({"namesrv": address, "steps": documents})


def _say(text: str) -> None:
    # Narration goes to stderr so `nsctl demo -o json` keeps stdout to the command outputs.
    print(text, file=sys.stderr if not sys.stdout.isatty() else sys.stdout, flush=True)
