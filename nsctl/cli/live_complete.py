"""`nsctl __complete KIND [WORDS...]`: names for the shell completions, from the live NameServer.

The bash, zsh and fish scripts call it on TAB with KIND (topics, clusters, brokers, groups,
namespaces, contexts) and the words typed so far, from which it takes -n/--namesrv, the TLS
options, the ACL keys and --context, with the precedence of every command (options, the
context asked for, $NAMESRV_ADDR / $NSCTL_ACCESS_KEY / $NSCTL_SECRET_KEY, the current context;
address servers are not asked). `contexts` lists the configuration file's contexts (no
NameServer asked); namespaces add those of the context in use. Consumer groups
live on the brokers: they are asked of the masters the NameServer lists, within the same budget.
It answers within BUDGET seconds and prints nothing at all, on stdout or stderr, when
no NameServer answers in time: a completion must never disturb the command line. It does not
build the Typer app (start-up time is the whole cost of a TAB).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

#: Seconds for the whole answer, connecting included (the scripts add Python's start-up).
BUDGET = 0.15

KINDS = ("topics", "clusters", "brokers", "groups", "namespaces", "contexts")

#: The NameServer protocol cannot list KV namespaces; these are the ones RocketMQ itself uses.
KNOWN_NAMESPACES = ("ORDER_TOPIC_CONFIG",)

_ADDRESS_OPTIONS = ("-n", "--namesrv", "--namesrvAddr")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in KINDS:
        return 2
    kind, words = argv[0], argv[1:]
    try:
        names = _names(kind, words)
    except Exception:  # whatever went wrong, a completion stays silent
        return 0
    sys.stdout.write("".join(f"{name}\n" for name in sorted(set(names))))
    return 0


def _option_value(words: list[str], names: tuple[str, ...]) -> str | None:
    """The last value given to one of `names` (`-n X`, `--namesrv=X`)."""
    value = None
    for i, word in enumerate(words):
        if word in names and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith(tuple(f"{n}=" for n in names if n.startswith("--"))):
            value = word.split("=", 1)[1]
    return value


def _settings(words: list[str]):
    """The settings the command being typed would use (see nsctl.client.contexts)."""
    from nsctl.client.contexts import resolve

    explicit: dict[str, object] = {}
    text = _option_value(words, _ADDRESS_OPTIONS)
    if text:
        explicit["namesrv"] = os.path.expandvars(text).strip("'\"")
    ca_file = _option_value(words, ("--tls-ca",))
    if ca_file:
        explicit["tls_ca"] = os.path.expanduser(ca_file)
    for flag in ("--tls", "--tls-insecure"):
        if flag in words:
            explicit[flag[2:].replace("-", "_")] = True
    for flag in ("--access-key", "--secret-key"):
        value = _option_value(words, (flag,))
        if value:
            explicit[flag[2:].replace("-", "_")] = value
    context = _option_value(words, ("--context",)) or os.environ.get("NSCTL_CONTEXT") or None
    return resolve(explicit, context=context)


def _groups(client, deadline: float, ssl_context, credentials) -> list[str]:
    """The groups of every master the NameServer lists, as many as the budget allows."""
    from nsctl.client.broker_client import BrokerClient

    names: set[str] = set()
    for broker in client.get_broker_cluster_info().broker_addr_table.values():
        address = broker.broker_addrs.get(0)
        remaining = deadline - time.monotonic()
        if address is None or remaining <= 0.01:
            continue
        try:
            with BrokerClient(
                address,
                timeout=remaining,
                connect_timeout=remaining,
                ssl_context=ssl_context,
                credentials=credentials,
            ) as broker_client:
                table = broker_client.get_all_subscription_group_config()
            names.update(table.subscription_group_table)
        except Exception:  # another broker may still answer within the budget
            continue
    return sorted(names)


def _names(kind: str, words: list[str]) -> list[str]:
    if kind == "contexts":
        from nsctl.client.contexts import load

        return list(load().contexts)
    from nsctl.client.client import NameServerClient
    from nsctl.client.discovery import parse_addresses

    settings = _settings(words)
    from_env = settings.sources["namesrv"] == "NAMESRV_ADDR"
    text = settings.namesrv or (os.environ.get("NAMESRV_ADDR", "") if from_env else "")
    addresses = parse_addresses(text)  # an address server is not asked (too slow for a TAB)
    ssl_context = None
    if settings.tls or settings.tls_ca or settings.tls_insecure:
        from nsctl.client.tls import client_context

        ssl_context = client_context(ca_file=settings.tls_ca, insecure=settings.tls_insecure)
    credentials = None
    if settings.access_key and settings.secret_key:
        credentials = settings.credentials()
    namespaces = [*KNOWN_NAMESPACES, *settings.namespaces]

    def known_namespaces(client) -> list[str]:
        client.get_broker_cluster_info()  # offer them only when the NameServer answers
        return namespaces

    deadline = time.monotonic() + BUDGET
    ask: Callable[[NameServerClient], list[str]] = {
        "topics": lambda c: list(c.get_all_topic_list().topic_list),
        "clusters": lambda c: list(c.get_broker_cluster_info().cluster_addr_table),
        "brokers": lambda c: list(c.get_broker_cluster_info().broker_addr_table),
        "groups": lambda c: _groups(c, deadline, ssl_context, credentials),
        "namespaces": known_namespaces,
    }[kind]
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            break
        try:
            with NameServerClient(
                address,
                timeout=remaining,
                connect_timeout=remaining,
                ssl_context=ssl_context,
                credentials=credentials,
            ) as client:
                return ask(client)
        except Exception:  # try the next address within the budget
            continue
    return []
