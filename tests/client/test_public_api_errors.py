"""Every failure of the public client API is a `NameServerError`.

The rule (nsctl/client/errors.py): a call that fails raises a `NameServerError` subclass; a value
of the right type that cannot be sent (a header over the 24-bit length field, text that is not
valid Unicode, a line break in a config entry) raises `NameServerUsageError`, which is also a
`ValueError`, before anything is sent. Only an argument of the wrong Python type (a number where
text is expected, None for a required value) may raise a plain `TypeError`, as the standard
library does.

The walk calls every method of NameServerClient, AsyncNameServerClient, NameServerManager and
BrokerClient with hostile values, one argument at a time, against a real `nsctl serve` on
loopback, and checks that nothing else escapes and that the server still answers afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from nsctl.client import (
    AsyncNameServerClient,
    NameServerClient,
    NameServerConfig,
    NameServerError,
    NameServerManager,
)
from nsctl.client.broker_client import BrokerClient
from nsctl.client.errors import NameServerUsageError
from nsctl.protocol.broker_admin import SubscriptionGroupConfig
from nsctl.protocol.models import QueueData
from nsctl.protocol.register import DataVersion, TopicConfig

HUGE = "x" * (17 * 1024 * 1024)  # a header over the 24-bit length field (16 MiB - 1)
TEXTS = ["", "\x00", "nul\x00inside", "\ud800", "lone \udfff surrogate", "a=b\nc:d\r\n", "😀" * 3]
INTS = [-1, -(2**31) - 1, 2**31, 2**63, -(2**63) - 1, 2**100]
WRONG_TYPES = [None, 1.5, b"bytes", object(), ["list"]]

BROKER = {"cluster_name": "C", "broker_name": "b", "broker_addr": "127.0.0.1:10911"}
TOPICS = {"T1": TopicConfig("T1", 4, 4, 6), "T2": TopicConfig("T2", 4, 4, 6)}

#: method name -> (positional args, keyword args) that make a valid call.
NAMESERVER_CALLS: dict[str, tuple[tuple, dict[str, Any]]] = {
    "query_topic_route_info": (("T",), {}),
    "get_broker_cluster_info": ((), {}),
    "get_all_topic_list": ((), {}),
    "get_topics_by_cluster": (("C",), {}),
    "get_system_topic_list": ((), {}),
    "register_topic_in_namesrv": (("T", [QueueData("b", 4, 4, 6)]), {}),
    "delete_topic_in_namesrv": (("T",), {"cluster_name": "C"}),
    "get_kv_config": (("ns", "k"), {}),
    "put_kv_config": (("ns", "k", "v"), {}),
    "delete_kv_config": (("ns", "k"), {}),
    "get_kv_list_by_namespace": (("ns",), {}),
    "register_broker": ((), {**BROKER, "broker_id": 0, "topic_configs": TOPICS}),
    "unregister_broker": ((), {**BROKER, "broker_id": 0}),
    "broker_heartbeat": ((), {**BROKER, "broker_id": 0}),
    "query_data_version": ((), {**BROKER, "broker_id": 0, "data_version": DataVersion(1, 2, 3)}),
    "get_broker_member_group": (("C", "b"), {}),
    "wipe_write_perm_of_broker": (("b",), {}),
    "add_write_perm_of_broker": (("b",), {}),
    "update_namesrv_config": (({"enableTopicList": "true"},), {}),
}

BROKER_CALLS: dict[str, tuple[tuple, dict[str, Any]]] = {
    "get_broker_runtime_info": ((), {}),
    "get_topic_stats_info": (("T",), {}),
    "get_topic_config": (("T",), {}),
    "update_and_create_topic": ((TopicConfig("T", 4, 4, 6), "+a=b"), {}),
    "delete_topic_in_broker": (("T",), {}),
    "update_and_create_subscription_group": ((SubscriptionGroupConfig("G"),), {}),
    "delete_subscription_group": (("G",), {"clean_offset": True}),
    "get_all_topic_config": ((), {}),
    "get_all_subscription_group_config": ((), {}),
}


def hostile_for(value: Any) -> list[Any]:
    """Hostile replacements for one argument, by the type of its valid value."""
    if isinstance(value, bool):
        return [*WRONG_TYPES, "true", 2]
    if isinstance(value, int):
        return [*INTS, *WRONG_TYPES, "1"]
    if isinstance(value, str):
        return [*TEXTS, *WRONG_TYPES, 7]
    if isinstance(value, dict):
        key = next(iter(value), "k")
        return [
            {text: value.get(key, "v") for text in TEXTS if text},
            *({"enableTopicList": text} for text in TEXTS),
            {key: HUGE} if isinstance(value.get(key), str) else {HUGE: value.get(key)},
            *WRONG_TYPES,
        ]
    if isinstance(value, list):
        return [[QueueData(text, -1, 2**40, -5) for text in TEXTS], *WRONG_TYPES]
    if isinstance(value, TopicConfig):
        return [TopicConfig(text, -1, 2**40, -5, text) for text in TEXTS] + WRONG_TYPES
    if isinstance(value, SubscriptionGroupConfig):
        return [SubscriptionGroupConfig(text, retry_queue_nums=-1) for text in TEXTS] + WRONG_TYPES
    if isinstance(value, DataVersion):
        return [DataVersion(-1, 2**70, -(2**70)), *WRONG_TYPES]
    return WRONG_TYPES


def variants(calls: dict[str, tuple[tuple, dict[str, Any]]]):
    """(method, args, kwargs, what, wrong_type) with one argument hostile at a time; the huge
    value goes once into each call's first text argument."""
    for name, (args, kwargs) in calls.items():
        for index, value in enumerate(args):
            for bad in hostile_for(value):
                changed = (*args[:index], bad, *args[index + 1 :])
                yield (
                    name,
                    changed,
                    kwargs,
                    f"arg {index}={_short(bad)}",
                    not _same_type(value, bad),
                )
        for key, value in kwargs.items():
            for bad in hostile_for(value):
                yield (
                    name,
                    args,
                    {**kwargs, key: bad},
                    f"{key}={_short(bad)}",
                    not _same_type(value, bad),
                )
        text_args = [i for i, v in enumerate(args) if isinstance(v, str)]
        text_kwargs = [k for k, v in kwargs.items() if isinstance(v, str)]
        if text_args:
            i = text_args[0]
            yield name, (*args[:i], HUGE, *args[i + 1 :]), kwargs, f"arg {i}=HUGE", False
        elif text_kwargs:
            yield name, args, {**kwargs, text_kwargs[0]: HUGE}, f"{text_kwargs[0]}=HUGE", False


def _same_type(valid: Any, bad: Any) -> bool:
    if isinstance(valid, bool):
        return isinstance(bad, bool)
    if isinstance(valid, int):
        return isinstance(bad, int) and not isinstance(bad, bool)
    if isinstance(valid, dict):
        kinds = {type(v) for v in valid.values()}
        return isinstance(bad, dict) and all(type(v) in kinds for v in bad.values())
    if isinstance(valid, list):
        return isinstance(bad, list) and all(isinstance(v, QueueData) for v in bad)
    return isinstance(bad, type(valid))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def outcome(name: str, what: str, wrong_type: bool, call: Callable[[], Any]) -> str | None:
    """None when the call succeeded or failed as the rule allows, else what escaped."""
    try:
        call()
    except NameServerError:
        return None
    except TypeError as error:
        if wrong_type:
            return None
        return f"{name}({what}): TypeError: {str(error)[:120]}"
    except Exception as error:
        return f"{name}({what}): {type(error).__name__}: {str(error)[:120]}"
    return None


def check(escaped: list[str | None]) -> None:
    found = [line for line in escaped if line is not None]
    assert not found, "\n".join(found)


def test_sync_client_lets_only_nameserver_errors_escape(serve_process):
    outcomes = []
    with NameServerClient(serve_process.address, timeout=5) as client:
        for name, args, kwargs, what, wrong in variants(NAMESERVER_CALLS):
            method = getattr(client, name)
            outcomes.append(
                outcome(name, what, wrong, lambda m=method, a=args, k=kwargs: m(*a, **k))
            )
        # Still answering, on the same client.
        assert client.get_namesrv_config()["enableTopicList"] in ("true", "false")
    check(outcomes)


def test_async_client_lets_only_nameserver_errors_escape(serve_process):
    async def walk() -> list:
        outcomes = []
        async with AsyncNameServerClient(serve_process.address, timeout=5) as client:
            for name, args, kwargs, what, wrong in variants(NAMESERVER_CALLS):
                method = getattr(client, name)
                try:
                    await method(*args, **kwargs)
                except NameServerError:
                    pass
                except TypeError as error:
                    if not wrong:
                        outcomes.append(f"{name}({what}): TypeError: {str(error)[:120]}")
                except Exception as error:
                    outcomes.append(f"{name}({what}): {type(error).__name__}: {str(error)[:120]}")
            assert (await client.get_broker_cluster_info()) is not None
        return outcomes

    check(asyncio.run(walk()))


def test_broker_client_lets_only_nameserver_errors_escape(serve_process):
    outcomes = []
    with BrokerClient(serve_process.address, timeout=5) as client:
        for name, args, kwargs, what, wrong in variants(BROKER_CALLS):
            method = getattr(client, name)
            outcomes.append(
                outcome(name, what, wrong, lambda m=method, a=args, k=kwargs: m(*a, **k))
            )
    check(outcomes)


def test_manager_lets_only_nameserver_errors_escape(serve_process):
    config = NameServerConfig(serve_process.address, timeout=5, max_retry_times=1)
    outcomes = []
    with NameServerManager(config) as manager:
        for value in [*TEXTS, HUGE, *WRONG_TYPES]:
            for name, call in [
                ("get_topic_route", lambda v=value: manager.get_topic_route(v)),
                ("get_broker_address", lambda v=value: manager.get_broker_address(v, v)),
                ("get_all_broker_addresses", lambda v=value: manager.get_all_broker_addresses(v)),
                ("invoke", lambda v=value: manager.invoke(lambda c: c.get_kv_config(v, v))),
                ("broadcast", lambda v=value: _raise_first(manager.broadcast(
                    lambda c: c.put_kv_config("ns", "k", v)))),
            ]:  # fmt: skip
                wrong = not isinstance(value, str)
                outcomes.append(outcome(name, _short(value), wrong, call))
    check(outcomes)


def _raise_first(results: dict) -> None:
    for result in results.values():
        if isinstance(result, BaseException):
            raise result


def test_an_oversized_header_is_a_usage_error_and_sends_nothing(serve_process):
    with NameServerClient(serve_process.address) as client:
        with pytest.raises(NameServerUsageError, match="header") as caught:
            client.put_kv_config("ns", "k", HUGE)
        assert isinstance(caught.value, ValueError)  # what it was before: code catching it works
        assert not client.connected
        with pytest.raises(NameServerUsageError):
            client.put_kv_config("ns", "\ud800", "v")
        client.put_kv_config("ns", "k", "v")
        assert client.get_kv_config("ns", "k") == "v"


def test_async_calls_raise_when_awaited(serve_process):
    async def run() -> None:
        async with AsyncNameServerClient(serve_process.address) as client:
            pending = client.put_kv_config("ns", "\ud800", "v")  # no exception yet
            with pytest.raises(NameServerUsageError, match="not valid Unicode"):
                await pending
            pending = client.update_namesrv_config({"k": "a\nb"})
            with pytest.raises(NameServerUsageError, match="properties line"):
                await pending
            assert await client.get_namesrv_config()

    asyncio.run(run())


def test_settings_and_addresses_that_cannot_be_used_are_usage_errors():
    for bad in ({"timeout": -1}, {"timeout": float("nan")}, {"max_retry_times": 0}):
        with pytest.raises(NameServerUsageError):
            NameServerConfig("127.0.0.1:9876", **bad)
    for address in ("nohost", "h:0", "h:99999", "h:port"):
        with pytest.raises(NameServerUsageError):
            NameServerClient(address)


def test_a_callers_type_error_in_invoke_or_broadcast_is_raised_not_swallowed(serve_process):
    def wrong(client):
        raise TypeError("the caller's bug")

    config = NameServerConfig(f"{serve_process.address};127.0.0.1:9", timeout=2)
    with NameServerManager(config) as manager:
        with pytest.raises(TypeError, match="the caller's bug"):
            manager.invoke(wrong)
        with pytest.raises(TypeError, match="the caller's bug"):
            manager.broadcast(wrong)
