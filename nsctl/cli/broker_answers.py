"""What the broker views share: asking brokers from a command, and reporting the ones that
did not answer (one stderr line for all of them, and the exit code they add up to)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from nsctl.cli.failures import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, classify
from nsctl.cli.target import Target

if TYPE_CHECKING:
    from nsctl.client.broker_client import AsyncBrokerClient
    from nsctl.client.broker_fanout import BrokerAnswer

T = TypeVar("T")


def ask_brokers(
    target: Target,
    addresses: Iterable[str],
    query: Callable[[AsyncBrokerClient], Awaitable[T]],
) -> dict[str, BrokerAnswer[T]]:
    """`query` on every address at once, each bounded by the command's --timeout."""
    from nsctl.client.broker_fanout import query_brokers_sync

    return query_brokers_sync(
        addresses, query, timeout=target.timeout, ssl_context=target.ssl_context
    )


def report_failures(
    answers: Mapping[str, BrokerAnswer[Any]], names: Mapping[str, str] | None = None
) -> int:
    """One stderr line naming every broker that gave no answer (scripts count on at most one
    line per command); the exit code they stand for: 0 when none failed, 3 when every failure
    was a broker out of reach, else 1."""
    codes = set()
    failures = []
    for address, answer in answers.items():
        if answer.error is None:
            continue
        code, message = classify(answer.error)
        codes.add(code)
        failures.append(f"{(names or {}).get(address, address)}: {message}")
    if not codes:
        return EXIT_OK
    warn_brokers(f"{len(failures)} of {len(answers)} broker(s) did not answer", failures)
    return EXIT_UNREACHABLE if codes == {EXIT_UNREACHABLE} else EXIT_ERROR


def warn_brokers(summary: str, details: Iterable[str]) -> None:
    """`nsctl: SUMMARY: DETAIL; DETAIL; ...` as a single stderr line."""
    print(f"nsctl: {summary}: {'; '.join(details)}", file=sys.stderr)
