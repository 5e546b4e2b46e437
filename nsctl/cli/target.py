"""The NameServers a command talks to (`Target`: addresses, TLS, timeout, retries, and the
manager built from them on first use) and the output format it was asked for."""

from __future__ import annotations

import enum
import functools
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from ssl import SSLContext

    from nsctl.client import NameServerManager
    from nsctl.protocol.acl import Credentials


class Output(str, enum.Enum):
    table = "table"
    json = "json"
    plain = "plain"


class Target:
    """The NameServers a command talks to, and how. (A plain class, not a dataclass: every
    command builds one, and generating a dataclass's methods costs a start about 0.3 ms.)"""

    def __init__(
        self,
        namesrv: str | None,
        output: Output,
        timeout: float,
        retries: int,
        address_server: str | None,
        verbose: bool,
        tls: bool = False,
        tls_ca: Path | None = None,
        tls_insecure: bool = False,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.namesrv = namesrv
        self.output = output
        self.timeout = timeout
        self.retries = retries
        self.address_server = address_server
        self.verbose = verbose
        self.tls = tls
        self.tls_ca = tls_ca
        self.tls_insecure = tls_insecure
        self.access_key = access_key
        self.secret_key = secret_key
        self._manager: NameServerManager | None = None
        #: Set once `addresses` came from an address server (long-running commands ask it again).
        self.address_server_url: str | None = None

    @functools.cached_property
    def ssl_context(self) -> SSLContext | None:
        """None for plaintext; `ssl` is imported only when TLS is asked for."""
        if not (self.tls or self.tls_ca or self.tls_insecure):
            return None
        from nsctl.client.tls import client_context

        return client_context(ca_file=self.tls_ca, insecure=self.tls_insecure)

    @functools.cached_property
    def credentials(self) -> Credentials | None:
        """The ACL keys every request is signed with, None when none were given. One key
        without the other is a usage error naming the missing one."""
        if self.access_key is None and self.secret_key is None:
            return None
        if not self.access_key or not self.secret_key:
            missing = "--secret-key" if self.access_key else "--access-key"
            raise ValueError(f"ACL needs both keys: {missing} (or its variable) is missing")
        from nsctl.protocol.acl import Credentials

        return Credentials(self.access_key, self.secret_key)

    @property
    def connection(self) -> dict:
        """How every client of this command connects (NameServers and brokers alike):
        `timeout`, `connect_timeout`, `ssl_context`, `credentials`."""
        return {
            "timeout": self.timeout,
            "connect_timeout": self.timeout,
            "ssl_context": self.ssl_context,
            "credentials": self.credentials,
        }

    @functools.cached_property
    def addresses(self) -> list[str]:
        from nsctl.client.discovery import resolve_addresses

        resolved = resolve_addresses(
            self.namesrv, address_server_url=self.address_server, timeout=self.timeout
        )
        if self.verbose:
            addresses = ";".join(resolved.addresses)
            print(f"nsctl: NameServers {addresses} (from {resolved.source})", file=sys.stderr)
        self.address_server_url = resolved.url
        return resolved.addresses

    @property
    def manager(self) -> NameServerManager:
        if self._manager is None:
            from nsctl.client import NameServerConfig, NameServerManager

            self._manager = NameServerManager(
                NameServerConfig(
                    nameserver_addrs=self.addresses,
                    timeout=self.timeout,
                    connect_timeout=self.timeout,
                    max_retry_times=self.retries + 1,
                    retry_interval=0.2,
                    ssl_context=self.ssl_context,
                    credentials=self.credentials,
                    hedge_delay=hedge_delay(),
                )
            )
            self._manager.start()
        return self._manager

    def close(self) -> None:
        if self._manager is not None:
            self._manager.stop()
            self._manager = None


def hedge_delay() -> float:
    """Seconds before a read also asks the next NameServer: NSCTL_HEDGE_DELAY, else 0.3."""
    import os

    text = os.environ.get("NSCTL_HEDGE_DELAY", "").strip()
    if not text:
        return 0.3
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"NSCTL_HEDGE_DELAY={text!r} is not a number of seconds") from None
    if value < 0:
        raise ValueError(f"NSCTL_HEDGE_DELAY={text!r} must not be negative")
    return value
