"""Client library for RocketMQ NameServers: sync and asyncio clients, managers with failover,
retries and caches, address discovery, and a broker agent.

Every one of them takes `credentials=Credentials(access_key, secret_key)` (on a manager, through
`NameServerConfig`): each request then goes out signed for ACL, and a refusal is a
`PermissionDeniedError` naming the access key used.

The blocking path (`NameServerClient`, `NameServerManager`, discovery) imports neither asyncio
nor httpx; the asyncio classes and `BrokerAgent` are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nsctl.lazy import lazy_names
from nsctl.protocol.codes import SerializeType

if TYPE_CHECKING:
    import ssl

    from nsctl.client.broker import BrokerAgent
    from nsctl.client.client import AsyncNameServerClient, NameServerClient
    from nsctl.client.discovery import ResolvedAddresses, parse_addresses, resolve_addresses
    from nsctl.client.errors import (
        KVConfigNotFoundError,
        NameServerConnectionError,
        NameServerDataParseError,
        NameServerError,
        NameServerProtocolError,
        NameServerResponseError,
        NameServerTimeoutError,
        NameServerUsageError,
        NoNameServerAddressError,
        PermissionDeniedError,
        TopicNotFoundError,
    )
    from nsctl.client.manager import AsyncNameServerManager, NameServerConfig, NameServerManager
    from nsctl.protocol.acl import Credentials

__all__ = [
    "AsyncNameServerClient",
    "AsyncNameServerManager",
    "BrokerAgent",
    "Credentials",
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
    "NameServerUsageError",
    "NoNameServerAddressError",
    "PermissionDeniedError",
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
    "Credentials": "nsctl.protocol.acl",
    "KVConfigNotFoundError": "nsctl.client.errors",
    "NameServerClient": "nsctl.client.client",
    "NameServerConfig": "nsctl.client.manager",
    "NameServerConnectionError": "nsctl.client.errors",
    "NameServerDataParseError": "nsctl.client.errors",
    "NameServerError": "nsctl.client.errors",
    "NameServerManager": "nsctl.client.manager",
    "NameServerProtocolError": "nsctl.client.errors",
    "NameServerResponseError": "nsctl.client.errors",
    "NameServerTimeoutError": "nsctl.client.errors",
    "NameServerUsageError": "nsctl.client.errors",
    "NoNameServerAddressError": "nsctl.client.errors",
    "PermissionDeniedError": "nsctl.client.errors",
    "ResolvedAddresses": "nsctl.client.discovery",
    "TopicNotFoundError": "nsctl.client.errors",
    "parse_addresses": "nsctl.client.discovery",
    "resolve_addresses": "nsctl.client.discovery",
    "AsyncNameServerClient": "nsctl.client.client",
    "AsyncNameServerManager": "nsctl.client.manager",
    "BrokerAgent": "nsctl.client.broker",
}


__getattr__ = lazy_names(__name__, _LAZY)


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
    credentials: Credentials | None = None,
) -> NameServerManager:
    """A started blocking manager over `nameserver_addrs` ("host:port;host:port")."""
    settings = _settings(locals())
    from nsctl.client.manager import NameServerConfig, NameServerManager

    config = NameServerConfig(nameserver_addrs, **settings)
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
    credentials: Credentials | None = None,
) -> AsyncNameServerManager:
    """An asyncio manager (use `async with`, or `await manager.stop()` when done)."""
    settings = _settings(locals())
    from nsctl.client.manager import AsyncNameServerManager, NameServerConfig

    config = NameServerConfig(nameserver_addrs, **settings)

    return AsyncNameServerManager(config)


def create_sync_client(
    address: str,
    timeout: float = 3.0,
    connect_timeout: float = 3.0,
    serialize_type: SerializeType = SerializeType.JSON,
    ssl_context: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> NameServerClient:
    from nsctl.client.client import NameServerClient

    return NameServerClient(
        address,
        timeout=timeout,
        connect_timeout=connect_timeout,
        serialize_type=serialize_type,
        ssl_context=ssl_context,
        credentials=credentials,
    )


def create_async_client(
    address: str,
    timeout: float = 3.0,
    connect_timeout: float = 3.0,
    serialize_type: SerializeType = SerializeType.JSON,
    ssl_context: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> AsyncNameServerClient:
    from nsctl.client.client import AsyncNameServerClient

    return AsyncNameServerClient(
        address,
        timeout=timeout,
        connect_timeout=connect_timeout,
        serialize_type=serialize_type,
        ssl_context=ssl_context,
        credentials=credentials,
    )
