"""The embedded NameServer.

- `route_table`: `RouteTable`, the NameServer's tables and rules (pure, no I/O)
- `kvstore`: the KV config store with crash-safe persistence
- `config`: settings under the Java key names; what may change at runtime
- `dispatch`: request code -> handler -> response
- `server`: the asyncio TCP server; `embedded`: the same on a background thread
"""

from nsctl.server.embedded import EmbeddedNameServer

__all__ = ["EmbeddedNameServer"]
