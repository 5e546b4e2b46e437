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
        address_source: str | None = None,
        namespaces: tuple[str, ...] = (),
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
        #: Where the addresses (or the address server) came from when not from -n or the
        #: environment (a context, --address-server); None: as discovery finds them.
        self.address_source = address_source
        #: KV namespaces the context in use lists (kv diff / sync / export cover them).
        self.namespaces = namespaces
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
            self.namesrv,
            address_server_url=self.address_server,
            # a context or --address-server beats the environment (the precedence of contexts)
            env=None if self.address_source is None else {},
            timeout=self.timeout,
        )
        if self.verbose:
            addresses = ";".join(resolved.addresses)
            source = resolved.source
            if self.address_source is not None:
                source = self.address_source if self.namesrv else f"{source}, {self.address_source}"
            print(f"nsctl: NameServers {addresses} (from {source})", file=sys.stderr)
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


#: The common options a context can give, as `Target` names them.
SETTINGS = (
    "namesrv",
    "address_server",
    "output",
    "timeout",
    "retries",
    "tls",
    "tls_ca",
    "tls_insecure",
    "access_key",
    "secret_key",
)


def target_from(
    explicit: dict, *, verbose: bool, context: str | None, context_source: str
) -> Target:
    """The Target of a command: each setting from the options given (`explicit`), else the
    context asked for, the environment, the current context, the defaults (see
    nsctl.client.contexts). Warnings about secrets go to stderr; --verbose says where each
    setting came from (one line)."""
    from pathlib import Path

    if not (context or verbose or explicit.get("address_server")):
        from nsctl.client.discovery import config_path

        if not config_path().exists():  # no contexts: the options and the environment alone
            return _without_contexts(explicit)
    from nsctl.client.contexts import resolve

    settings = resolve(explicit, context=context, context_source=context_source)
    for warning in settings.warnings:
        print(f"nsctl: warning: {warning}", file=sys.stderr)
    values = settings.values
    source = settings.sources["namesrv"]
    explicit_n = source == "-n/--namesrv"
    from_env = settings.namesrv is None and settings.address_server is None
    tls_ca = values["tls_ca"]
    target = Target(
        values["namesrv"],
        Output(values["output"]),
        float(values["timeout"]),
        int(values["retries"]),
        values["address_server"],
        verbose,
        tls=values["tls"],
        tls_ca=Path(tls_ca) if tls_ca is not None else None,
        tls_insecure=values["tls_insecure"],
        access_key=values["access_key"],
        secret_key=values["secret_key"],
        address_source=None if explicit_n or from_env else source,
        namespaces=tuple(settings.namespaces),
    )
    if verbose:
        shown = {
            "output": values["output"],
            "timeout": f"{values['timeout']:g}s",
            "retries": values["retries"],
            "tls": "on" if values["tls"] else "off",
            "tls-ca": tls_ca,
            "tls-insecure": "on" if values["tls_insecure"] else "off",
            "access-key": values["access_key"],
            "secret-key": "****" if values["secret_key"] else None,
        }
        parts = [
            f"{name} {'-' if value is None else value} ({settings.sources[name.replace('-', '_')]})"
            for name, value in shown.items()
        ]
        print(f"nsctl: settings: {', '.join(parts)}", file=sys.stderr)
    return target


def _without_contexts(explicit: dict) -> Target:
    """What `target_from` gives when there is no configuration file and no --context, without
    loading the contexts module: the options given, else the environment, else the defaults."""
    import os
    from pathlib import Path

    def value(name: str, default=None, variable: str | None = None):
        if name in explicit and explicit[name] is not None:
            return explicit[name]
        return (os.environ.get(variable) if variable else None) or default

    tls_ca = value("tls_ca")
    return Target(
        value("namesrv"),
        Output(value("output", "table")),
        float(value("timeout", 3.0)),
        int(value("retries", 1)),
        None,  # an explicit --address-server takes the other path; the environment's: discovery
        False,
        tls=bool(value("tls", False)),
        tls_ca=Path(tls_ca) if tls_ca is not None else None,
        tls_insecure=bool(value("tls_insecure", False)),
        access_key=value("access_key", None, "NSCTL_ACCESS_KEY"),
        secret_key=value("secret_key", None, "NSCTL_SECRET_KEY"),
    )
