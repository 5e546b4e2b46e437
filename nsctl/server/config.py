"""Server configuration under the Java key names (NamesrvConfig + NettyServerConfig, 5.3.3).

GET_NAMESRV_CONFIG reports every key as sorted `key=value` lines, like 5.3.3. UPDATE_NAMESRV_CONFIG
is deliberately narrower than Java's:

* keys in the black list (`configBlackList`, `configStorePath`, `kvConfigPath`, `rocketmqHome`
  and whatever the start-up `configBlackList` names) are refused with NO_PERMISSION;
* only the keys in `RUNTIME_KEYS` are applied. They are switches and numbers that take effect
  immediately; nothing that names a path or makes the server write a file can be changed over
  the network (CVE-2023-37582 was a remote update of such a key);
* the configuration is never written back to a file. Java rewrites `configStorePath` (the `-c`
  file) with a full dump after every update; nsctl keeps runtime updates in memory only, so an
  operator's file is never touched by a remote peer.

Values are read strictly (`parse_value`): a boolean is `true` or `false` (any case), a number a
decimal integer in its key's range (Java ints; no negative counts, intervals or ports), a path
names a file. At start-up (`-c`, `nsctl serve`'s options) a value that breaks these rules is a
`ConfigError` naming the key, where Java would silently keep the default (a bad number) or read
`false` (a bad boolean). At runtime the update's answer stays Java's (SUCCESS) and the key is left
unchanged, with a log line saying why.

The `-c` file is read as `java.util.Properties.load(InputStream)` reads it: ISO-8859-1 bytes,
`\\uXXXX` escapes, `#`/`!` comments, `=`/`:`/blank separators, backslash line continuations.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.frame import DEFAULT_MAX_FRAME_LENGTH
from nsctl.protocol.properties import format_properties, parse_properties
from nsctl.server.changes import next_stamp

log = logging.getLogger(__name__)

_HOME = Path.home()

#: Every key GET_NAMESRV_CONFIG reports, with 5.3.3's default.
DEFAULTS: dict[str, bool | int | str] = {
    "bindAddress": "0.0.0.0",
    "clientRequestThreadPoolNums": 8,
    "clientRequestThreadPoolQueueCapacity": 50000,
    "clusterTest": False,
    "configBlackList": "configBlackList;configStorePath;kvConfigPath",
    "configStorePath": str(_HOME / "namesrv" / "namesrv.properties"),
    "defaultThreadPoolNums": 16,
    "defaultThreadPoolQueueCapacity": 10000,
    "deleteTopicWithBrokerRegistration": False,
    "enableAllTopicList": True,
    "enableControllerInNamesrv": False,
    "enableShutdownGracefully": False,
    "enableTopicList": True,
    "kvConfigPath": str(_HOME / "namesrv" / "kvConfig.json"),
    "listenPort": 9876,
    "needWaitForService": False,
    "notifyMinBrokerIdChanged": False,
    "orderMessageEnable": False,
    "productEnvName": "center",
    "returnOrderTopicConfigToBroker": True,
    "rocketmqHome": os.environ.get("ROCKETMQ_HOME", ""),
    "scanAvailableNameSrv": False,
    "scanNotActiveBrokerInterval": 5000,
    "serverAsyncSemaphoreValue": 64,
    "serverCallbackExecutorThreads": 0,
    "serverChannelMaxIdleTimeSeconds": 120,
    "serverNettyWorkerGroupEnable": True,
    "serverOnewaySemaphoreValue": 256,
    "serverPooledByteBufAllocatorEnable": True,
    "serverSelectorThreads": 3,
    "serverSocketBacklog": 1024,
    "serverSocketRcvBufSize": 0,
    "serverSocketSndBufSize": 0,
    "serverWorkerThreads": 8,
    "shutdownWaitTimeSeconds": 30,
    "supportActingMaster": False,
    "unRegisterBrokerQueueCapacity": 3000,
    "useEpollNativeSelector": False,
    "waitSecondsForService": 45,
    "writeBufferHighWaterMark": 0,
    "writeBufferLowWaterMark": 0,
}

#: Keys a remote UPDATE_NAMESRV_CONFIG may change: live switches, no paths, nothing on disk.
RUNTIME_KEYS = frozenset(
    {
        "orderMessageEnable",
        "returnOrderTopicConfigToBroker",
        "supportActingMaster",
        "enableAllTopicList",
        "enableTopicList",
        "notifyMinBrokerIdChanged",
        "needWaitForService",
        "waitSecondsForService",
        "deleteTopicWithBrokerRegistration",
        "serverChannelMaxIdleTimeSeconds",
    }
)

#: Refused whatever `configBlackList` says.
ALWAYS_BLACK_LISTED = frozenset(
    {"configBlackList", "configStorePath", "kvConfigPath", "rocketmqHome"}
)

BLACK_LIST_REMARK = "Can not update config in black list."


Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Who may send admin requests unless `--admin-allow` says otherwise: this host only.
LOOPBACK_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


#: nsctl's own keys in a `-c` file: read at start-up, never reported by GET_NAMESRV_CONFIG
#: (an allow-list is not for every reader) nor changed by UPDATE_NAMESRV_CONFIG.
BROKER_ALLOW_KEY = "nsctl.brokerAllow"
NSCTL_FILE_KEYS = frozenset({BROKER_ALLOW_KEY})


def parse_network_list(text: str) -> tuple[Network, ...]:
    """`CIDR[,CIDR...]` (blanks around items allowed); ValueError for an empty list or item."""
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise ValueError(f"empty entry in the list {text!r}")
    return parse_networks(items)


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """CIDR blocks ("10.0.0.0/8") or single addresses; ValueError names the bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip()))
        except ValueError as exc:
            raise ValueError(f"not an address or CIDR block: {text!r} ({exc})") from None
    return tuple(networks)


#: Default of `--max-buffered-bytes`: what all connections together may make the server hold
#: in partial frames and unsent answers.
DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024

#: Default of `--max-connections`: far above what a cluster's brokers and clients need, far
#: below the file descriptors a process may get.
DEFAULT_MAX_CONNECTIONS = 10_000


@dataclass(frozen=True, slots=True)
class TLSSettings:
    """Serve TLS with this certificate chain and key. `mode` is "permissive" (TLS and plaintext
    on the same port, told apart by the first byte, as Java's default) or "enforcing" (plaintext
    connections are closed)."""

    cert_file: str
    key_file: str
    mode: str = "permissive"
    #: Ask peers for a certificate and verify any they give against this CA file (the peer
    #: may still connect without one; `--broker-require-cert` decides what it may do).
    client_ca: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in TLS_MODES:
            raise ValueError(f"TLS mode must be one of {', '.join(TLS_MODES)}, not {self.mode!r}")


TLS_MODES = ("permissive", "enforcing")


class ConfigError(ValueError):
    """A setting cannot be used: `key` names it (None: the file as a whole), the message says
    why in one line. `nsctl serve` reports it as a usage error."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


#: Java's int: the type of every numeric setting the NameServer reads.
JAVA_INT_MAX = 2**31 - 1

#: Inclusive ranges of the numeric settings that differ from 0..JAVA_INT_MAX.
NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "listenPort": (0, 65535),
    "scanNotActiveBrokerInterval": (1, JAVA_INT_MAX),
}

#: String settings nsctl opens as files.
FILE_KEYS = frozenset({"kvConfigPath"})


def parse_value(key: str, raw: str | bool | int) -> bool | int | str:
    """The typed value of setting `key` (one of DEFAULTS) from text or a typed value;
    ConfigError naming the key when it is not one."""
    default = DEFAULTS[key]
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise ConfigError(f"{key}: {_show(raw)} is not true or false", key=key)
        return text == "true"
    if isinstance(default, int):
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ConfigError(f"{key}: {_show(raw)} is not an integer", key=key)
        text = str(raw).strip()
        if not _INTEGER.fullmatch(text):
            raise ConfigError(f"{key}: {_show(raw)} is not an integer", key=key)
        value = int(text)
        low, high = NUMBER_RANGES.get(key, (0, JAVA_INT_MAX))
        if not low <= value <= high:
            raise ConfigError(f"{key}: {value} is outside {low}..{high}", key=key)
        return value
    text = str(raw).strip()  # Java trims string settings
    if "\x00" in text:
        raise ConfigError(f"{key}: {_show(raw)} contains a NUL character", key=key)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{key}: {_show(raw)} is not valid Unicode text", key=key) from None
    if key in FILE_KEYS and (Path(text).name in ("", "..") or text.endswith(("/", os.sep))):
        raise ConfigError(f"{key}: needs a file name, not {_show(raw)}", key=key)
    if key == "bindAddress" and not text:
        raise ConfigError(f"{key}: needs an address, not {_show(raw)}", key=key)
    return text


_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def _show(raw: object) -> str:
    """A value in a one-line message: quoted, escaped, and cut if long."""
    text = repr(raw if isinstance(raw, str) else str(raw))
    return text if len(text) <= 60 else text[:56] + "...'"


class TLSSetupError(Exception):
    """The certificate or key cannot be used (raised when the server starts)."""


@dataclass(slots=True)
class UpdateResult:
    """What UPDATE_NAMESRV_CONFIG did. `refused`: black-listed keys (then nothing else was
    done). `changed`: key -> (old, new) for the values it changed; `unchanged`: runtime keys set
    to the value they had. `ignored`: key -> why it was not taken."""

    refused: list[str]
    changed: dict[str, tuple[str, str]]
    unchanged: list[str]
    ignored: dict[str, str]

    @property
    def applied(self) -> list[str]:
        return [*self.changed, *self.unchanged]


class NamesrvConfig:
    """The settings under their Java names, typed as their defaults are.

    `broker_expire_ms` is nsctl's own: the default liveness timeout of a broker that does not
    send `heartbeatTimeoutMillis` (120 s in Java, not configurable there).
    """

    def __init__(self) -> None:
        self._values: dict[str, bool | int | str] = dict(DEFAULTS)
        #: Keys from a `-c` file that are not settings; reported back as Java does.
        self._extra: dict[str, str] = {}
        #: Keys the `-c` file set, so that command-line defaults do not override them.
        self.file_keys: set[str] = set()
        self.broker_expire_ms = 120_000
        # nsctl's hardening (no Java key, so GET_NAMESRV_CONFIG does not report them).
        self.tls: TLSSettings | None = None
        #: Peers whose admin requests (Dispatcher.ADMIN_CODES) are served.
        self.admin_allow: tuple[Network, ...] = LOOPBACK_NETWORKS
        #: Peers whose broker-side writes (Dispatcher.BROKER_WRITE_CODES) are served; None: all.
        self.broker_allow: tuple[Network, ...] | None = None
        #: Serve broker-side writes only over TLS from peers with a certificate this CA file
        #: verified (`serve --broker-require-cert`); None: no certificate needed.
        self.broker_ca: str | None = None
        self.max_connections = DEFAULT_MAX_CONNECTIONS
        #: Largest frame accepted, length word included (Java: 16 MiB). It also bounds what one
        #: connection can make the server buffer: complete frames are answered at once.
        self.max_frame_length = DEFAULT_MAX_FRAME_LENGTH
        #: Bytes all connections together may hold in partial frames and unsent answers; past
        #: it the connection holding the most is closed (server.FrameListener.bound_buffers).
        self.max_buffered_bytes = DEFAULT_MAX_BUFFERED_BYTES
        #: Answer repeated read requests from the cache of encoded answers (server.answer_cache).
        self.answer_cache = True
        #: Work that grows with the tables runs in a worker thread (server.offload) from these
        #: sizes on: topic lists of at least this many topics in the table, REGISTER_BROKER
        #: bodies of at least this many bytes (4 KiB: a compressed body of 10,000 topics is
        #: about 50 KiB). None: always on the event loop.
        self.offload_min_topics: int | None = 2048
        self.offload_min_body: int | None = 4 * 1024
        #: Stamp of the last change of a setting (nsctl.server.changes).
        self.generation = next_stamp()
        self._black_list = self._compute_black_list()

    # ------------------------------------------------------------------------------------------
    # Access

    def __getitem__(self, key: str) -> bool | int | str:
        return self._values[key]

    def flag(self, key: str) -> bool:
        return bool(self._values[key])

    def number(self, key: str) -> int:
        return int(self._values[key])

    def text(self, key: str) -> str:
        return str(self._values[key])

    def set(self, key: str, raw: str | bool | int) -> bool:
        """Set a known key from text (or a typed value), read by `parse_value`: a value it
        refuses raises ConfigError. Returns False (and does nothing) for an unknown key."""
        if key not in DEFAULTS:
            return False
        value = parse_value(key, raw)
        self._values[key] = value
        self.generation = next_stamp()
        if key == "configBlackList":
            self._black_list = self._compute_black_list()
        return True

    def _compute_black_list(self) -> frozenset[str]:
        listed = {k.strip() for k in self.text("configBlackList").split(";") if k.strip()}
        return ALWAYS_BLACK_LISTED | listed

    # ------------------------------------------------------------------------------------------
    # Files and wire text

    def load_properties_file(self, path: str | os.PathLike[str]) -> None:
        """Apply a Java `namesrv.properties` file (the `-c` option); it becomes configStorePath.

        Read as Java reads it (ISO-8859-1, `\\uXXXX` escapes). ConfigError when the file cannot
        be read or parsed, or a setting's value cannot be used; nothing is applied then."""
        try:
            data = Path(path).read_bytes()
            location = str(Path(path).resolve())
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"cannot read {_show(str(path))}: {reason}") from None
        try:
            properties = parse_properties(data.decode("iso-8859-1"))
        except ProtocolError as exc:
            raise ConfigError(str(exc)) from None
        values = {k: parse_value(k, v) for k, v in properties.items() if k in DEFAULTS}
        broker_allow = self.broker_allow
        if BROKER_ALLOW_KEY in properties:
            try:
                broker_allow = parse_network_list(properties[BROKER_ALLOW_KEY])
            except ValueError as exc:
                raise ConfigError(f"{BROKER_ALLOW_KEY}: {exc}", key=BROKER_ALLOW_KEY) from None
        for key, value in properties.items():
            self.file_keys.add(key)
            if key in values:
                self._values[key] = values[key]
            elif key not in NSCTL_FILE_KEYS:
                self._extra[key] = value
        self.broker_allow = broker_allow
        self._values["configStorePath"] = location
        self.generation = next_stamp()
        # The black list is fixed from here on, whatever a later update says.
        self._black_list = self._compute_black_list()

    def properties_text(self) -> str:
        """GET_NAMESRV_CONFIG body: sorted `key=value\\n` lines, values not escaped."""
        values = {**self._extra, **{k: _render(v) for k, v in self._values.items()}}
        return format_properties(values, sort=True)

    def apply_update(self, properties: dict[str, str]) -> UpdateResult:
        """UPDATE_NAMESRV_CONFIG: all or nothing on the black list, then runtime keys only,
        each value read by `parse_value`. Says what happened to every key; logs nothing."""
        refused = sorted(k for k in properties if k in self._black_list)
        result = UpdateResult(refused=refused, changed={}, unchanged=[], ignored={})
        if refused:
            return result
        for key, raw in properties.items():
            if key not in DEFAULTS:
                result.ignored[key] = "no such setting"
                continue
            if key not in RUNTIME_KEYS:
                result.ignored[key] = "only read at start-up: not changed while running"
                continue
            try:
                value = parse_value(key, raw)
            except ConfigError as exc:
                result.ignored[key] = str(exc).removeprefix(f"{key}: ")
                continue
            old = self._values[key]
            if value == old and type(value) is type(old):
                result.unchanged.append(key)
                continue
            self.set(key, value)
            result.changed[key] = (_render(old), _render(value))
        return result


def _render(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
