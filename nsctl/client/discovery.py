"""Where NameServer addresses come from, in Java's order.

1. explicit addresses (the `-n` option),
2. the environment variable `NAMESRV_ADDR`,
3. an HTTP address server (Java's "WS domain" lookup, protocol.md §11.1) that answers a
   `host:port;host:port` list: an explicit URL, `NSCTL_ADDRESS_SERVER_URL`, or the URL Java builds
   from `ROCKETMQ_NAMESRV_DOMAIN` / `ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP`.

httpx is imported only when an address server is really asked: the CLI starts fast otherwise.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nsctl.client.errors import (
    NameServerConnectionError,
    NameServerUsageError,
    NoNameServerAddressError,
)
from nsctl.client.quiet_log import QuietLogger

if TYPE_CHECKING:
    from pathlib import Path

log = QuietLogger(__name__)

ENV_NAMESRV_ADDR = "NAMESRV_ADDR"
ENV_ADDRESS_SERVER_URL = "NSCTL_ADDRESS_SERVER_URL"
ENV_NAMESRV_DOMAIN = "ROCKETMQ_NAMESRV_DOMAIN"
ENV_NAMESRV_DOMAIN_SUBGROUP = "ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP"
DEFAULT_DOMAIN_SUBGROUP = "nsaddr"
ENV_CONFIG = "NSCTL_CONFIG"

_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)$")


@dataclass(frozen=True, slots=True)
class ResolvedAddresses:
    """The NameServer list and where it was found ("option", "NAMESRV_ADDR", "address server
    <url>"), so that an error message can say which setting to fix."""

    addresses: list[str]
    source: str
    #: The address server's URL when the list came from one (it may change: ask again later).
    url: str | None = None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the configuration file with the contexts is, whether or not it exists:
    `$NSCTL_CONFIG`, else `$XDG_CONFIG_HOME/nsctl/config.toml`, else
    `~/.config/nsctl/config.toml` (see nsctl.client.contexts, which reads it). Here, where
    every command looks anyway, so that a command finds out there is none without loading the
    contexts module."""
    from pathlib import Path

    environ = os.environ if env is None else env
    explicit = environ.get(ENV_CONFIG, "")
    if explicit:
        return Path(explicit).expanduser()
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base else Path(environ.get("HOME") or Path.home()) / ".config"
    return root / "nsctl" / "config.toml"


def split_host_port(address: str) -> tuple[str, int]:
    """`host:port` split at the last `:` (as Java does); `[v6]:port` loses its brackets."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise NameServerUsageError(f"invalid NameServer address {address!r}: expected host:port")
    if not 0 < int(port_text) < 65536:
        raise NameServerUsageError(
            f"invalid NameServer address {address!r}: port {port_text} is outside 1..65535"
        )
    if not _HOST.match(host):
        raise NameServerUsageError(f"invalid NameServer address {address!r}: bad host {host!r}")
    return host.strip("[]"), int(port_text)


def parse_addresses(text: str) -> list[str]:
    """`"a:9876;b:9876"` (or `,`-separated) → `["a:9876", "b:9876"]`, validated, duplicates
    dropped. An entry starting with `http://` is reduced to the text after its last `/`, as Java
    does (`http://10.0.0.1:9876` means `10.0.0.1:9876`)."""
    addresses: list[str] = []
    for piece in re.split(r"[;,]", text):
        entry = piece.strip()
        if not entry:
            continue
        if entry.lower().startswith(("http://", "https://")):
            entry = entry.rstrip("/").rsplit("/", 1)[-1]
        split_host_port(entry)
        if entry not in addresses:
            addresses.append(entry)
    return addresses


def address_server_url(env: Mapping[str, str]) -> str | None:
    """The address-server URL configured in `env`, if any."""
    explicit = env.get(ENV_ADDRESS_SERVER_URL, "").strip()
    if explicit:
        return explicit
    domain = env.get(ENV_NAMESRV_DOMAIN, "").strip()
    if not domain:
        return None
    subgroup = env.get(ENV_NAMESRV_DOMAIN_SUBGROUP, "").strip() or DEFAULT_DOMAIN_SUBGROUP
    # Java appends the default port 8080 only when the domain does not carry one.
    host = domain if ":" in domain else f"{domain}:8080"
    return f"http://{host}/rocketmq/{subgroup}"


def check_address_server_url(url: str) -> str:
    """`url` if it can be an address server's (http or https, with a host); ValueError if not,
    so that a typo is a usage error rather than an unreachable server."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise NameServerUsageError(
            f"address server URL {url!r} is not a valid URL: {exc}"
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise NameServerUsageError(
            f"address server URL {url!r} is not an http:// or https:// URL with a host"
        )
    return url


def fetch_from_address_server(url: str, *, timeout: float = 3.0) -> list[str]:
    """GET `url` and read the first line of the answer as an address list."""
    check_address_server_url(url)
    import httpx  # lazily: only this lookup needs it

    headers = {
        "Client-Version": "V5_3_3",
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        "Metaq-Client-RequestTS": str(int(time.time() * 1000)),
    }
    try:
        response = httpx.get(url, headers=headers, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise NameServerConnectionError(f"address server {url} is unreachable: {exc}") from exc
    if response.status_code != 200:
        raise NameServerConnectionError(
            f"address server {url} answered HTTP {response.status_code}"
        )
    lines = response.text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    try:
        addresses = parse_addresses(first)
    except ValueError as exc:
        raise NameServerConnectionError(f"address server {url} answered {first!r}: {exc}") from exc
    if not addresses:
        raise NoNameServerAddressError(f"address server {url} answered an empty address list")
    log.debug("address server %s: %s", url, addresses)
    return addresses


def resolve_addresses(
    explicit: str | None = None,
    *,
    address_server_url: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 3.0,
) -> ResolvedAddresses:
    """The NameServer addresses to use; `NoNameServerAddressError` when none is configured.

    A malformed explicit or environment list raises ValueError naming the bad entry; an address
    server that cannot be reached raises NameServerConnectionError.
    """
    environment = os.environ if env is None else env
    if explicit is not None and explicit.strip():
        addresses = parse_addresses(explicit)
        if not addresses:
            raise NoNameServerAddressError(
                f"no NameServer address given in -n {explicit!r}: expected host:port[;host:port]"
            )
        return ResolvedAddresses(addresses, "option")
    from_env = environment.get(ENV_NAMESRV_ADDR, "")
    if from_env.strip():
        try:
            addresses = parse_addresses(from_env)
        except ValueError as exc:
            raise NameServerUsageError(f"{ENV_NAMESRV_ADDR}: {exc}") from None
        if not addresses:
            raise NoNameServerAddressError(
                f"no NameServer address given in {ENV_NAMESRV_ADDR}={from_env!r}: expected "
                "host:port[;host:port]"
            )
        return ResolvedAddresses(addresses, ENV_NAMESRV_ADDR)
    url = address_server_url or _address_server_url(environment)
    if url:
        return ResolvedAddresses(
            fetch_from_address_server(url, timeout=timeout), f"address server {url}", url
        )
    raise NoNameServerAddressError(
        "no NameServer address: pass -n host:port, set NAMESRV_ADDR, or configure an address "
        f"server ({ENV_ADDRESS_SERVER_URL} or {ENV_NAMESRV_DOMAIN})"
    )


# `resolve_addresses` has a parameter of the same name; keep a private alias for it to call.
_address_server_url = address_server_url
