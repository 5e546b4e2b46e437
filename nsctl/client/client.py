"""`NameServerClient` (blocking) and `AsyncNameServerClient` (asyncio): one NameServer each.

Both get every NameServer call from `NameServerCalls`, which only builds the operation
(`nsctl.client.operations`) and hands it to the class's `_execute`: the sync client sends it on
a socket and returns the result, the async client returns an awaitable of it. The asyncio
transport is imported when an async client is created, so importing this module stays cheap.

With `credentials` (`nsctl.protocol.acl.Credentials`) the transport signs every request for
ACL, and a refusal (NO_PERMISSION) comes back as `PermissionDeniedError` naming the access key
the request was signed with, or saying it went unsigned.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from nsctl.client import operations
from nsctl.client.errors import NameServerError, PermissionDeniedError, usage_error
from nsctl.client.operations import Operation
from nsctl.client.sync_transport import SyncConnection
from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import FLAG_ONEWAY, OpaqueCounter, RemotingCommand
from nsctl.protocol.models import (
    BrokerMemberGroup,
    ClusterInfo,
    QueueData,
    TopicList,
    TopicRouteData,
)

if TYPE_CHECKING:
    import ssl

    from nsctl.client.async_transport import AsyncConnection
    from nsctl.protocol.acl import Credentials
    from nsctl.protocol.register import (
        DataVersion,
        RegisterBrokerResult,
        TopicConfig,
        TopicConfigSerializeWrapper,
    )

T = TypeVar("T")
R = TypeVar("R", bound="RemotingClient")
AR = TypeVar("AR", bound="AsyncRemotingClient")

#: The result of a call: the value itself on `NameServerClient`, an awaitable of it on
#: `AsyncNameServerClient`.
Call = T | Awaitable[T]

#: Request ids are unique across every client of the process, as in Java.
OPAQUES = OpaqueCounter()


class Refused:
    """A call that cannot be made as given: `_execute` raises `error` (so an async call raises
    it when awaited, as every other failure)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class GuardedBuilders:
    """The operation builders of a module (`nsctl.client.operations`) as the clients' calls use
    them: a value that cannot be sent (ValueError, OverflowError, ...) becomes a
    `NameServerUsageError` and an argument of the wrong type a `TypeError` (the rule in
    `nsctl.client.errors`), handed to `_execute` as a `Refused`."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        build = getattr(self._module, name)

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return build(*args, **kwargs)
            except NameServerError as exc:
                return Refused(exc)
            except TypeError as exc:
                return Refused(exc)
            except AttributeError as exc:  # duck typing met the wrong type
                wrong = TypeError(f"{name}: an argument has the wrong type ({exc})")
                wrong.__cause__ = exc
                return Refused(wrong)
            except (ValueError, OverflowError, RecursionError, struct.error) as exc:
                return Refused(usage_error(exc, name))

        setattr(self, name, guarded)  # built once per name
        return guarded


ops = GuardedBuilders(operations)


class NameServerCalls:
    """Every NameServer call, written once for both clients."""

    address: str

    def _execute(self, operation: Operation[Any]) -> Any:
        raise NotImplementedError  # pragma: no cover - each client defines it

    # --- routes and topics -----------------------------------------------------------------

    def query_topic_route_info(self, topic: str) -> Call[TopicRouteData]:
        """The route of `topic`; `TopicNotFoundError` when the NameServer has none."""
        return self._execute(ops.query_topic_route_info(topic))

    def get_broker_cluster_info(self) -> Call[ClusterInfo]:
        return self._execute(ops.get_broker_cluster_info())

    def get_all_topic_list(self) -> Call[TopicList]:
        return self._execute(ops.get_all_topic_list())

    def get_topics_by_cluster(self, cluster: str) -> Call[TopicList]:
        return self._execute(ops.get_topics_by_cluster(cluster))

    def get_system_topic_list(self) -> Call[TopicList]:
        return self._execute(ops.get_system_topic_list())

    def get_unit_topic_list(self) -> Call[TopicList]:
        return self._execute(ops.get_unit_topic_list())

    def get_has_unit_sub_topic_list(self) -> Call[TopicList]:
        return self._execute(ops.get_has_unit_sub_topic_list())

    def get_has_unit_sub_ununit_topic_list(self) -> Call[TopicList]:
        return self._execute(ops.get_has_unit_sub_ununit_topic_list())

    def register_topic_in_namesrv(self, topic: str, queue_datas: list[QueueData]) -> Call[None]:
        return self._execute(ops.register_topic_in_namesrv(topic, queue_datas))

    def delete_topic_in_namesrv(self, topic: str, cluster_name: str | None = None) -> Call[None]:
        return self._execute(ops.delete_topic_in_namesrv(topic, cluster_name))

    # --- KV config -------------------------------------------------------------------------

    def get_kv_config(self, namespace: str, key: str) -> Call[str]:
        """The value; `KVConfigNotFoundError` when the namespace or key does not exist."""
        return self._execute(ops.get_kv_config(namespace, key))

    def put_kv_config(self, namespace: str, key: str, value: str) -> Call[None]:
        return self._execute(ops.put_kv_config(namespace, key, value))

    def delete_kv_config(self, namespace: str, key: str) -> Call[None]:
        return self._execute(ops.delete_kv_config(namespace, key))

    def get_kv_list_by_namespace(self, namespace: str) -> Call[dict[str, str]]:
        return self._execute(ops.get_kv_list_by_namespace(namespace))

    # --- brokers ---------------------------------------------------------------------------

    def register_broker(
        self,
        *,
        cluster_name: str,
        broker_name: str,
        broker_addr: str,
        broker_id: int = 0,
        ha_server_addr: str | None = None,
        topic_configs: Mapping[str, TopicConfig] | TopicConfigSerializeWrapper,
        data_version: DataVersion | None = None,
        compressed: bool = False,
        oneway: bool = False,
        heartbeat_timeout_millis: int | None = None,
        enable_acting_master: bool | None = None,
    ) -> Call[RegisterBrokerResult | None]:
        """Register as a broker on this NameServer; None when sent one-way.

        The registration lives as long as this client's connection: keep the client open.
        """
        return self._execute(
            ops.register_broker(
                cluster_name=cluster_name,
                broker_name=broker_name,
                broker_addr=broker_addr,
                broker_id=broker_id,
                ha_server_addr=ha_server_addr,
                topic_configs=topic_configs,
                data_version=data_version,
                compressed=compressed,
                oneway=oneway,
                heartbeat_timeout_millis=heartbeat_timeout_millis,
                enable_acting_master=enable_acting_master,
            )
        )

    def unregister_broker(
        self, *, cluster_name: str, broker_name: str, broker_addr: str, broker_id: int = 0
    ) -> Call[None]:
        return self._execute(
            ops.unregister_broker(
                cluster_name=cluster_name,
                broker_name=broker_name,
                broker_addr=broker_addr,
                broker_id=broker_id,
            )
        )

    def broker_heartbeat(
        self, *, cluster_name: str, broker_name: str, broker_addr: str, broker_id: int = 0
    ) -> Call[None]:
        """One-way 5.x heartbeat: returns once sent."""
        return self._execute(
            ops.broker_heartbeat(
                cluster_name=cluster_name,
                broker_name=broker_name,
                broker_addr=broker_addr,
                broker_id=broker_id,
            )
        )

    def query_data_version(
        self,
        *,
        cluster_name: str,
        broker_name: str,
        broker_addr: str,
        broker_id: int,
        data_version: DataVersion,
    ) -> Call[tuple[bool, DataVersion | None]]:
        """(changed, the DataVersion the NameServer holds for the broker, if any)."""
        return self._execute(
            ops.query_data_version(
                cluster_name=cluster_name,
                broker_name=broker_name,
                broker_addr=broker_addr,
                broker_id=broker_id,
                data_version=data_version,
            )
        )

    def get_broker_member_group(
        self, cluster_name: str, broker_name: str
    ) -> Call[BrokerMemberGroup]:
        return self._execute(ops.get_broker_member_group(cluster_name, broker_name))

    def wipe_write_perm_of_broker(self, broker_name: str) -> Call[int]:
        """Clear the write bit of the broker's queues here; returns the number of topics."""
        return self._execute(ops.wipe_write_perm_of_broker(broker_name))

    def add_write_perm_of_broker(self, broker_name: str) -> Call[int]:
        """Set the broker's queues back to read-write here; returns the number of topics."""
        return self._execute(ops.add_write_perm_of_broker(broker_name))

    # --- NameServer configuration ----------------------------------------------------------

    def get_namesrv_config(self) -> Call[dict[str, str]]:
        return self._execute(ops.get_namesrv_config())

    def update_namesrv_config(self, properties: Mapping[str, str]) -> Call[None]:
        return self._execute(ops.update_namesrv_config(properties))


def _with_opaque(command: RemotingCommand) -> RemotingCommand:
    """A copy of `command` with a fresh opaque: the caller's command is never mutated."""
    return dataclasses.replace(command, opaque=OPAQUES.next())


def _result(
    operation: Operation[T],
    response: RemotingCommand,
    address: str,
    credentials: Credentials | None,
) -> T:
    """The operation's result; a refusal names the credentials the request went out with."""
    try:
        return operation.parse(response, address)
    except PermissionDeniedError as refused:
        access_key = credentials.access_key if credentials is not None else None
        raise refused.sent_with(access_key) from None


class RemotingClient:
    """A blocking remoting connection to one address (a NameServer or a broker): it moves the
    frames of the operations its subclass's calls build. Thread-safe: threads take turns.

    `timeout` bounds each call (connecting included), `connect_timeout` the connect alone.
    With `ssl_context` the connection is TLS (see `nsctl.client.tls.client_context`); with
    `credentials` every request is signed (see `nsctl.protocol.acl`).
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 3.0,
        connect_timeout: float = 3.0,
        serialize_type: SerializeType = SerializeType.JSON,
        ssl_context: ssl.SSLContext | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.serialize_type = SerializeType(serialize_type)
        self._connection = SyncConnection(
            address,
            connect_timeout=connect_timeout,
            ssl_context=ssl_context,
            credentials=credentials,
        )

    @property
    def connected(self) -> bool:
        return self._connection.connected

    @property
    def credentials(self) -> Credentials | None:
        """What every request is signed with; None: requests go unsigned."""
        return self._connection.credentials

    def request(self, command: RemotingCommand, timeout: float | None = None) -> RemotingCommand:
        """Send `command` (with a fresh opaque) and return the raw response, whatever its code."""
        return self._connection.request(
            _with_opaque(command), self.timeout if timeout is None else timeout
        )

    def oneway(self, command: RemotingCommand) -> None:
        """Send `command` flagged one-way; the NameServer never answers it."""
        command = _with_opaque(command)
        command.flag |= FLAG_ONEWAY
        self._connection.oneway(command, self.timeout)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self: R) -> R:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"

    def _execute(self, operation: Operation[T]) -> T | None:
        if isinstance(operation, Refused):
            raise operation.error
        command = operation.build(OPAQUES.next(), self.serialize_type)
        if operation.oneway:
            self._connection.oneway(command, self.timeout)
            return None
        response = self._connection.request(command, self.timeout)
        return _result(operation, response, self.address, self.credentials)


class NameServerClient(RemotingClient, NameServerCalls):
    """A blocking client of one NameServer. Thread-safe: threads take turns on the connection.

    `timeout` bounds each call (connecting included), `connect_timeout` the connect alone.
    With `ssl_context` the connection is TLS (see `nsctl.client.tls.client_context`).
    """


class AsyncRemotingClient:
    """An asyncio remoting connection to one address: every call method of its subclass
    returns an awaitable. Any number of calls may be in flight at once on its single
    connection, TLS with `ssl_context`.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 3.0,
        connect_timeout: float = 3.0,
        serialize_type: SerializeType = SerializeType.JSON,
        ssl_context: ssl.SSLContext | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        from nsctl.client.async_transport import AsyncConnection

        self.address = address
        self.timeout = timeout
        self.serialize_type = SerializeType(serialize_type)
        self._connection: AsyncConnection = AsyncConnection(
            address,
            connect_timeout=connect_timeout,
            ssl_context=ssl_context,
            credentials=credentials,
        )

    @property
    def connected(self) -> bool:
        return self._connection.connected

    @property
    def credentials(self) -> Credentials | None:
        """What every request is signed with; None: requests go unsigned."""
        return self._connection.credentials

    async def request(
        self, command: RemotingCommand, timeout: float | None = None
    ) -> RemotingCommand:
        """Send `command` (with a fresh opaque) and return the raw response, whatever its code."""
        return await self._connection.request(
            _with_opaque(command), self.timeout if timeout is None else timeout
        )

    async def oneway(self, command: RemotingCommand) -> None:
        command = _with_opaque(command)
        command.flag |= FLAG_ONEWAY
        await self._connection.oneway(command, self.timeout)

    async def wait_closed(self) -> None:
        """Return when the current connection closes (at once when not connected)."""
        await self._connection.wait_closed()

    async def aclose(self) -> None:
        await self._connection.close()

    async def __aenter__(self: AR) -> AR:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"

    async def _execute(self, operation: Operation[T]) -> T | None:
        if isinstance(operation, Refused):
            raise operation.error
        command = operation.build(OPAQUES.next(), self.serialize_type)
        if operation.oneway:
            await self._connection.oneway(command, self.timeout)
            return None
        response = await self._connection.request(command, self.timeout)
        return _result(operation, response, self.address, self.credentials)


class AsyncNameServerClient(AsyncRemotingClient, NameServerCalls):
    """The asyncio client of one NameServer: every call method returns an awaitable.

    Any number of calls may be in flight at once on its single connection, TLS with
    `ssl_context`, signed with `credentials`.
    """
