"""Client library for RocketMQ NameServers: sync and asyncio clients, managers with failover,
retries and caches, address discovery, and a broker agent.

The blocking path (`NameServerClient`, `NameServerManager`, discovery) imports neither asyncio
nor httpx; the asyncio classes and `BrokerAgent` are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nsctl.client.client import NameServerClient
from nsctl.client.discovery import ResolvedAddresses, parse_addresses, resolve_addresses
from nsctl.client.errors import (
    KVConfigNotFoundError,
    NameServerConnectionError,
    NameServerDataParseError,
    NameServerError,
    NameServerProtocolError,
    NameServerResponseError,
    NameServerTimeoutError,
    NoNameServerAddressError,
    TopicNotFoundError,
)
from nsctl.client.manager import NameServerConfig, NameServerManager
from nsctl.protocol.codes import SerializeType

if TYPE_CHECKING:
    import ssl

    from nsctl.client.broker import BrokerAgent
    from nsctl.client.client import AsyncNameServerClient
    from nsctl.client.manager import AsyncNameServerManager

__all__ = [
    "AsyncNameServerClient",
    "AsyncNameServerManager",
    "BrokerAgent",
    "KVConfigNotFoundError",
    "NameServerClient",
    "NameServerConfig",
    "NameServerConnectionError",
    "NameServerDataParseError",
    "NameServerError",
    "NameServerManager",
    "NameServerProtocolError",
    "NameServerResponseError",
    "NameServerTimeoutError",
    "NoNameServerAddressError",
    "ResolvedAddresses",
    "TopicNotFoundError",
    "create_async_client",
    "create_async_nameserver_manager",
    "create_nameserver_manager",
    "create_sync_client",
    "parse_addresses",
    "resolve_addresses",
]

_LAZY = {
    "AsyncNameServerClient": "nsctl.client.client",
    "AsyncNameServerManager": "nsctl.client.manager",
    "BrokerAgent": "nsctl.client.broker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def _settings(arguments: dict[str, Any]) -> dict[str, Any]:
    """A factory's keyword arguments, as NameServerConfig fields (both factories take the same)."""
    return {k: v for k, v in arguments.items() if k != "nameserver_addrs"}


def create_nameserver_manager(
    nameserver_addrs: str | list[str],
    timeout: float = 3.0,
    connect_timeout: float = 3.0,
    broker_cache_ttl: float = 30.0,
    route_cache_ttl: float = 30.0,
    max_retry_times: int = 3,
    retry_interval: float = 1.0,
    serialize_type: SerializeType = SerializeType.JSON,
) -> NameServerManager:
    """A started blocking manager over `nameserver_addrs` ("host:port;host:port")."""
    config = NameServerConfig(nameserver_addrs, **_settings(locals()))
    return NameServerManager(config).start()


def create_async_nameserver_manager(
    nameserver_addrs: str | list[str],
    timeout: float = 3.0,
    connect_timeout: float = 3.0,
    broker_cache_ttl: float = 30.0,
    route_cache_ttl: float = 30.0,
    max_retry_times: int = 3,
    retry_interval: float = 1.0,
    serialize_type: SerializeType = SerializeType.JSON,
) -> AsyncNameServerManager:
    """An asyncio manager (use `async with`, or `await manager.stop()` when done)."""
    config = NameServerConfig(nameserver_addrs, **_settings(locals()))
    from nsctl.client.manager import AsyncNameServerManager

    return AsyncNameServerManager(config)


def create_sync_client(
    address: str,
    timeout: float = 3.0,
    connect_timeout: float = 3.0,
    serialize_type: SerializeType = SerializeType.JSON,
    ssl_context: ssl.SSLContext | None = None,
) -> NameServerClient:
    return NameServerClient(
        address,
        timeout=timeout,
        connect_timeout=connect_timeout,
        serialize_type=serialize_type,
        ssl_context=ssl_context,
    )


def create_async_client(
    address: str,
    timeout: float = 3.0,
    connect_timeout: float = 3.0,
    serialize_type: SerializeType = SerializeType.JSON,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncNameServerClient:
    from nsctl.client.client import AsyncNameServerClient

    return AsyncNameServerClient(
        address,
        timeout=timeout,
        connect_timeout=connect_timeout,
        serialize_type=serialize_type,
        ssl_context=ssl_context,
    )
