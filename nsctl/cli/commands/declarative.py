"""Declarative topics and groups: `plan` (what a file would change on the masters), `apply`
(make those changes, in parallel per broker, reported per change and broker) and `export`
(what the masters hold now, as a file `apply` accepts). The file and the diff are
`nsctl.declarative`; the writes are those of updateTopic, updateSubGroup, deleteTopic -c and
deleteSubGroup -c (`broker_writes`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nsctl.cli.commands import broker_writes as w
from nsctl.cli.failures import EXIT_ERROR, EXIT_OK, EXIT_PENDING, EXIT_USAGE, classify, fail
from nsctl.cli.options import nameserver_command
from nsctl.cli.target import Output, Target

if TYPE_CHECKING:
    from nsctl.client.broker_client import AsyncBrokerClient
    from nsctl.declarative.diff import Broker, Change, Holding, Plan
    from nsctl.declarative.spec import DesiredState

FileOption = Annotated[
    str,
    typer.Option(
        "-f",
        "--file",
        help="The desired state: TOML or JSON (by the extension, else the content); - for stdin.",
        metavar="FILE",
        show_default=False,
    ),
]
ClustersOption = Annotated[
    list[str] | None,
    typer.Option(
        "-c",
        "--clusterName",
        help="Only this cluster (repeatable). Default: every cluster the file names.",
        metavar="CLUSTER",
        show_default=False,
    ),
]
ExportClustersOption = Annotated[
    list[str] | None,
    typer.Option(
        "-c",
        "--clusterName",
        help="Only this cluster (repeatable). Default: every cluster.",
        metavar="CLUSTER",
        show_default=False,
    ),
]
PruneOption = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Also delete the topics and groups the brokers hold that the file does not name.",
    ),
]


def _load(path: str) -> DesiredState:
    from nsctl.declarative.spec import SpecError, load

    try:
        return load(path)
    except SpecError as error:
        fail(str(error), EXIT_USAGE)


def _scope(
    target: Target, desired: DesiredState | None, clusters: list[str] | None
) -> list[Broker]:
    """The masters in scope: of the -c clusters, else of every cluster the file names (its
    clusters, and those of its broker addresses); every cluster when there is no file."""
    from nsctl.declarative.diff import Broker
    from nsctl.protocol.broker_models import utf16_order as utf16_key

    info = w.cluster_info(target)
    master_of = {
        broker.broker_addrs[0]: (cluster, name)
        for cluster, names in info.cluster_addr_table.items()
        for name in names
        if (broker := info.broker_addr_table.get(name)) is not None and 0 in broker.broker_addrs
    }
    if desired is not None:
        for address in desired.brokers:
            if address not in master_of:
                fail(
                    f'{desired.where("brokers", address)}: brokers."{address}": no master '
                    "broker at this address in the NameServers' cluster table"
                )
    if clusters:
        names = list(dict.fromkeys(c.strip() for c in clusters))
        if desired is not None:
            named = set(desired.clusters) | {master_of[a][0] for a in desired.brokers}
            for name in names:
                if name not in named:
                    fail(
                        f"-c {name}: {desired.source} says nothing of cluster {name} (add "
                        f"[clusters.{name}] to manage it)",
                        EXIT_USAGE,
                    )
    elif desired is not None:
        names = list(desired.clusters) + [master_of[a][0] for a in desired.brokers]
        names = list(dict.fromkeys(names))
    else:
        names = sorted(info.cluster_addr_table, key=utf16_key)
    found = []
    for cluster in names:
        masters = w.masters(info, cluster)
        if desired is not None and cluster not in desired.clusters:
            # Only brokers of it are named: the others are not the file's business (--prune
            # would otherwise empty them).
            masters = {a: n for a, n in masters.items() if a in desired.brokers}
        for address, name in sorted(masters.items(), key=lambda item: utf16_key(item[1])):
            found.append(Broker(cluster, name, address))
    if desired is not None:
        _no_system_topics(desired, found)
    return found


def _no_system_topics(desired: DesiredState, brokers: list[Broker]) -> None:
    """A topic the file names that is a system topic of a broker it goes to (its cluster's or
    its own name, ...) would be refused by that broker: a usage error, nothing sent."""
    from nsctl.declarative.diff import managed_topic

    for broker in brokers:
        for scope, key in (("clusters", broker.cluster), ("brokers", broker.address)):
            section = (desired.clusters if scope == "clusters" else desired.brokers).get(key)
            for name in section.topics if section is not None else ():
                if not managed_topic(name, broker):
                    fail(
                        f"{desired.where(scope, key, 'topic', name)}: {scope}.{key}.topics."
                        f"{name}: a system topic of broker {broker.name} {broker.address}",
                        EXIT_USAGE,
                    )


def _read(target: Target, brokers: list[Broker]) -> dict[str, Holding]:
    """GET_ALL_TOPIC_CONFIG and GET_ALL_SUBSCRIPTIONGROUP_CONFIG on every master at once; a
    broker that does not answer ends the command (the plan would be incomplete)."""
    from nsctl.cli.broker_answers import ask_brokers
    from nsctl.declarative.diff import Holding

    async def read(client: AsyncBrokerClient) -> Holding:
        topics = await client.get_all_topic_config()
        groups = await client.get_all_subscription_group_config()
        return Holding(dict(topics.topic_config_table), dict(groups.subscription_group_table))

    answers = ask_brokers(target, [b.address for b in brokers], read)
    failed = []
    codes = set()
    for broker in brokers:
        answer = answers[broker.address]
        if answer.error is not None:
            code, message = classify(answer.error)
            codes.add(code)
            failed.append(f"{broker.name} {broker.address}: {message}")
    if failed:
        print(
            f"nsctl: cannot read {len(failed)} of {len(brokers)} broker(s), so the plan would "
            f"be incomplete: {'; '.join(failed)}",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_ERROR if EXIT_ERROR in codes else 3)
    return {b.address: answers[b.address].value for b in brokers}  # type: ignore[misc]


def _plan(target: Target, path: str, clusters: list[str] | None, prune: bool):
    from nsctl.declarative.diff import plan

    desired = _load(path)
    brokers = _scope(target, desired, clusters)
    holdings = _read(target, brokers)
    return desired, plan(desired, brokers, holdings, prune=prune)


def _show_plan(target: Target, result: Plan, source: str) -> int:
    """Print the plan as asked; its exit code (6 when something would change)."""
    from nsctl.cli.render import emit_json, emit_lines, emit_table
    from nsctl.cli.views import plan as view

    code = EXIT_PENDING if result.pending else EXIT_OK
    if target.output == Output.json:
        emit_json(view.document(result, source, code))
    elif target.output == Output.plain:
        emit_lines(view.diff_lines(result, source, verbose=target.verbose))
    else:
        clusters = ", ".join(dict.fromkeys(b.cluster for b in result.brokers))
        found = view.rows(result, verbose=target.verbose)
        if found:
            emit_table(f"Plan: {source} on {clusters}", view.COLUMNS, found)
        disagreeing = view.disagreement_rows(result)
        if disagreeing:
            emit_table("The masters of a cluster disagree", view.DISAGREEMENT_COLUMNS, disagreeing)
        emit_lines([view.summary_line(result)])
    return code


@nameserver_command(
    "plan",
    help="Show what a file of topics and groups would change on the masters of its clusters: "
    "what to create, what to change (field by field), what is unchanged, what the brokers hold "
    "that the file does not name (--prune would delete it), and where the masters of a cluster "
    "disagree. Exit 0 when nothing would change, 6 when something would. --verbose lists the "
    "unchanged too.",
)
def plan_command(
    target: Target,
    file: FileOption,
    clusters: ClustersOption = None,
    prune: PruneOption = False,
) -> None:
    desired, result = _plan(target, file, clusters, prune)
    code = _show_plan(target, result, desired.source)
    if code:
        raise typer.Exit(code)


@nameserver_command(
    "apply",
    help="Make the changes `plan` lists, on every master at once (each broker's changes in "
    "turn), and report each change on each broker. A second apply finds nothing to do: "
    "'no change'. --prune also deletes what the file does not name (topics on the brokers and "
    "then the NameServers, as deleteTopic -c; groups as deleteSubGroup -c), after asking on a "
    "terminal unless --yes. --dry-run prints the plan and exits 6 when changes are pending.",
)
def apply_command(
    target: Target,
    file: FileOption,
    clusters: ClustersOption = None,
    prune: PruneOption = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before --prune deletes.")
    ] = False,
    wait: w.WaitOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan only; exit 6 if changes are pending.")
    ] = False,
) -> None:
    if prune and not yes and not dry_run and not sys.stdin.isatty():
        fail("--prune deletes: give --yes as well (no terminal to ask on)", EXIT_USAGE)
    desired, result = _plan(target, file, clusters, prune)
    if dry_run:
        code = _show_plan(target, result, desired.source)
        if code:
            raise typer.Exit(code)
        return
    subject: dict[str, Any] = {
        "file": desired.source,
        "clusters": list(dict.fromkeys(b.cluster for b in result.brokers)),
    }
    report = w.WriteReport(subject, broker_key="changes")
    if not result.pending:
        if target.output == Output.json:
            w.finish(target, report)
        else:
            from nsctl.cli.render import emit_lines

            emit_lines(["no change"])
        return
    deletes = [c for c in result.changes if c.action == "delete"]
    if deletes and not yes:
        if target.output != Output.json:
            _show_plan(target, result, desired.source)
        doomed = ", ".join(f"{c.kind} {c.name} on {c.broker.name}" for c in deletes)
        if not typer.confirm(f"Delete {doomed}?", err=True):
            fail("nothing applied (not confirmed)", EXIT_ERROR)
    _apply(target, report, result, desired)
    if wait is not None and report.ok:
        report.waits.append(("namesrv", _wait(target, wait, report, result)))
    w.finish(target, report)


def _step(change: Change) -> w.Step:
    """The write one change takes: updateTopic's, updateSubGroup's, or the deletes."""
    from nsctl.cli.views.plan import change_json, fields_text

    extra = change_json(change)
    extra.pop("notes")
    action = f"{change.action} {change.kind} {change.name}"
    from nsctl.cli.views.plan import SIGNS

    line = f"{SIGNS[change.action]}{change.kind} "
    line += f"{change.name} on {change.broker.name} {change.broker.address}: "
    line += fields_text(change)

    async def run(client: AsyncBrokerClient) -> bool:
        if change.kind == "topic":
            if change.action == "delete":
                await client.delete_topic_in_broker(change.name)
            else:
                await client.update_and_create_topic(change.config, change.attribute_edits or None)
        elif change.action == "delete":
            await client.delete_subscription_group(change.name, False)
        else:
            await client.update_and_create_subscription_group(change.config)
        return True

    return w.Step(action, run, extra, [line])


def _apply(target: Target, report: w.WriteReport, result: Plan, desired: DesiredState) -> None:
    """Every change on its broker (topics, then groups, then deletes), then, for what --prune
    deleted on every master of a cluster, the routes on the NameServers (and a group's
    %RETRY%/%DLQ% topics, as deleteSubGroup -c)."""
    order = {("topic", "create"): 0, ("topic", "update"): 0, ("group", "create"): 1}
    order.update({("group", "update"): 1, ("group", "delete"): 2, ("topic", "delete"): 3})
    steps: dict[str, tuple[str | None, list[w.Step]]] = {}
    for broker in result.brokers:
        mine = [c for c in result.changes if c.broker == broker]
        mine.sort(key=lambda c: order[(c.kind, c.action)])
        steps[broker.address] = (broker.name, [_step(c) for c in mine])
    report.outcomes += w.in_turn(target, steps)
    _order_confs(target, report, result, desired)
    _prune_everywhere(target, report, result, desired)


def _order_confs(
    target: Target, report: w.WriteReport, result: Plan, desired: DesiredState
) -> None:
    """An order topic of a cluster's section that every master took: its order config on
    every NameServer (`broker:writeQueues` per broker), as updateTopic -c -o true writes it."""
    from nsctl.cli.commands.topic_admin import _order_conf

    taken: dict[tuple[str, str], list[bool]] = {}
    for change, outcome in _topic_outcomes(report, result):
        if change.action != "delete" and change.config.order:
            taken.setdefault((change.broker.cluster, change.name), []).append(outcome.ok)
    for (cluster, name), oks in taken.items():
        section = desired.clusters.get(cluster)
        members = [b for b in result.brokers if b.cluster == cluster]
        own = any(
            name in desired.brokers[b.address].topics
            for b in members
            if b.address in desired.brokers
        )
        if not all(oks) or section is None or name not in section.topics or own:
            continue
        brokers: dict[str, str | None] = {b.address: b.name for b in members}
        outcomes = _order_conf(target, section.topics[name], brokers, cluster)
        for outcome in outcomes:
            outcome.extra = {"orderConf": name}
        report.outcomes += outcomes


def _prune_everywhere(
    target: Target, report: w.WriteReport, result: Plan, desired: DesiredState
) -> None:
    from nsctl.cli.commands.topic_admin import delete_everywhere
    from nsctl.protocol.broker_admin import dlq_topic, retry_topic

    deleted: dict[tuple[str, str, str], list[bool]] = {}
    for outcome in report.outcomes:
        extra = outcome.extra
        if extra.get("action") == "delete":
            key = (extra["cluster"], extra["kind"], extra["name"])
            deleted.setdefault(key, []).append(outcome.ok)
    # Only where the file manages the whole cluster, and no master of it keeps the name: the
    # route and the retry topics are the cluster's, not one broker's.
    kept = {(i.broker.cluster, i.kind, i.name) for i in result.unchanged}
    kept |= {(c.broker.cluster, c.kind, c.name) for c in result.changes if c.action != "delete"}
    for (cluster, kind, name), oks in deleted.items():
        if not all(oks) or cluster not in desired.clusters or (cluster, kind, name) in kept:
            continue  # a broker still holds it: it would register the topic again
        if kind == "topic":

            def delete_route(client, topic=name, cluster=cluster) -> bool:
                client.delete_topic_in_namesrv(topic, cluster)
                return True

            outcomes = w.on_namesrvs(target, f"delete route of {name}", delete_route, [])
            for outcome in outcomes:
                outcome.extra = {"topic": name, "cluster": cluster}
            report.outcomes += outcomes
        else:
            for topic in (retry_topic(name), dlq_topic(name)):
                before = len(report.outcomes)
                delete_everywhere(target, report, topic, cluster, with_cluster=False)
                for outcome in report.outcomes[before:]:
                    if outcome.kind == "broker":
                        outcome.extra = {
                            "kind": "topic",
                            "name": topic,
                            "action": "delete",
                            "cluster": cluster,
                            "fields": {},
                        }


def _wait(target: Target, seconds: float, report: w.WriteReport, result: Plan):
    """--wait: until every NameServer's route shows each written topic's queues and perm on
    the brokers that took it, and no queue of a pruned topic in its cluster."""
    from nsctl.client.convergence import route_gone, route_shows_queues

    shown: dict[str, dict[str, tuple[int, int, int]]] = {}
    for change, outcome in _topic_outcomes(report, result):
        if outcome.ok and change.action != "delete":
            c = change.config
            shown.setdefault(change.name, {})[change.broker.name] = (
                c.read_queue_nums,
                c.write_queue_nums,
                c.perm,
            )
    gone: dict[str, set[str]] = {}
    for outcome in report.outcomes:
        if outcome.kind == "namesrv" and "cluster" in outcome.extra:
            cluster = outcome.extra["cluster"]
            names = {b.name for b in result.brokers if b.cluster == cluster}
            gone.setdefault(outcome.extra["topic"], set()).update(names)
    conditions = [route_shows_queues(t, e) for t, e in shown.items()]
    conditions += [route_gone(t, n) for t, n in gone.items()]
    labels = list(shown) + list(gone)

    def shows(client) -> str | None:
        for label, condition in zip(labels, conditions, strict=True):
            why = condition(client)
            if why is not None:
                return f"{label}: {why}"
        return None

    return w.wait_for(target, seconds, shows)


def _topic_outcomes(report: w.WriteReport, result: Plan):
    by_key = {(c.broker.address, c.kind, c.name, c.action): c for c in result.changes}
    for outcome in report.outcomes:
        e = outcome.extra
        key = (outcome.address, e.get("kind"), e.get("name"), e.get("action"))
        change = by_key.get(key)  # type: ignore[arg-type]
        if change is not None and change.kind == "topic":
            yield change, outcome


@nameserver_command(
    "export",
    help="Print what the masters of the clusters hold (every cluster, or those given with -c) "
    "as a file apply accepts: TOML, or JSON with -o json. System topics and groups are left "
    "out; a topic or group the masters of a cluster do not hold alike goes under each broker "
    "address, so that plan on the export shows nothing to change.",
)
def export_command(target: Target, clusters: ExportClustersOption = None) -> None:
    from nsctl.cli.render import emit_json, write
    from nsctl.declarative.diff import export

    brokers = _scope(target, None, clusters)
    document = export(brokers, _read(target, brokers))
    if target.output == Output.json:
        emit_json(document)
        return
    import tomli_w

    names = ", ".join(document["clusters"])
    header = f"# nsctl export of {names}: apply -f this file to make the brokers hold it\n"
    body = tomli_w.dumps(_for_toml(document))
    write(header + ("\n" if body else "") + body)


def _for_toml(document: dict[str, Any]) -> dict[str, Any]:
    """Empty clusters still appear (`[clusters.X]`), so the file keeps them in scope."""
    return document
