"""The embedded NameServer.

- `route_table`: `RouteTable`, the NameServer's tables and rules (pure, no I/O)
- `kvstore`: the KV config store with crash-safe persistence
- `config`: settings under the Java key names; what may change at runtime
- `dispatch`: request code -> handler -> response
- `server`: the asyncio TCP server; `embedded`: the same on a background thread
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nsctl.server.embedded import EmbeddedNameServer

__all__ = ["EmbeddedNameServer"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the pure modules here (route_table, dispatch) import without the asyncio server.
    if name == "EmbeddedNameServer":
        from nsctl.server.embedded import EmbeddedNameServer

        return EmbeddedNameServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
