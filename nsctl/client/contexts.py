"""Contexts: named sets of NameServer addresses, TLS, timeout, retries, ACL keys, an output
format and KV namespaces, kept in one TOML file, for the CLI and any program alike.

The file is `$NSCTL_CONFIG`, else `$XDG_CONFIG_HOME/nsctl/config.toml`, else
`~/.config/nsctl/config.toml`::

    current-context = "prod"

    [contexts.prod]
    namesrv = "10.0.0.1:9876;10.0.0.2:9876"   # or: address-server = "http://jmenv:8080/rocketmq/nsaddr"
    tls = true
    tls-ca = "~/certs/ca.pem"                  # relative paths: from the file's directory
    timeout = 5
    retries = 2
    access-key = "rocketmq2"                   # or access-key-env = "PROD_AK"
    secret-key-env = "PROD_SK"                 # or secret-key-file = "secrets/prod.secret-key"
    output = "json"
    namespaces = ["app", "billing"]            # kv diff / sync / export cover these too

A secret inline (`secret-key = "..."`) is read only from a file no one else may read (mode
0600); otherwise it is still used, with a warning (`Settings.warnings`). A missing file is an
empty configuration. A broken one (bad TOML, an unknown key, a bad value) raises `ConfigError`,
a ValueError whose message starts with `FILE:LINE:`.

`resolve()` picks each setting from the first source that has it: explicit values (the
caller's, e.g. the command line), the context asked for by name, the environment
(`NAMESRV_ADDR`, `NSCTL_ADDRESS_SERVER_URL`, `ROCKETMQ_NAMESRV_DOMAIN`, `NSCTL_ACCESS_KEY`,
`NSCTL_SECRET_KEY`), the current context (only when none was asked for), the defaults; and
says where each came from (`Settings.sources`).

Reading costs one `stat` when there is no file; tomllib is imported only when there is one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nsctl.client.discovery import ENV_CONFIG, config_path

__all__ = [
    "ENV_CONFIG",
    "ENV_CONTEXT",
    "Config",
    "ConfigError",
    "Context",
    "Settings",
    "config_path",
    "load",
    "read_tools_yml",
    "resolve",
]  # fmt: skip

ENV_CONTEXT = "NSCTL_CONTEXT"

#: Keys a context may hold -> the kind of value.
CONTEXT_KEYS = {
    "namesrv": "addresses",
    "address-server": "url",
    "tls": "bool",
    "tls-ca": "path",
    "tls-insecure": "bool",
    "timeout": "seconds",
    "retries": "count",
    "access-key": "text",
    "access-key-env": "variable",
    "secret-key": "text",
    "secret-key-env": "variable",
    "secret-key-file": "path",
    "output": "output",
    "namespaces": "names",
}
OUTPUTS = ("table", "json", "plain")
DEFAULTS: dict[str, Any] = {
    "tls": False,
    "tls_ca": None,
    "tls_insecure": False,
    "timeout": 3.0,
    "retries": 1,
    "access_key": None,
    "secret_key": None,
    "output": "table",
}
_NAME = r"[A-Za-z0-9_.@-]+"


class ConfigError(ValueError):
    """The configuration file (or a context in it) cannot be used; the message names the file
    and, where it can, the line: `FILE:LINE: contexts.prod.timeout: ...`."""


class Context:
    """One context: the keys as written in the file (`namesrv`, `tls-ca`, ...). (Plain classes
    here, not dataclasses: generating their methods would cost every CLI start about 2 ms.)"""

    def __init__(self, name: str, values: dict[str, Any] | None = None) -> None:
        self.name = name
        self.values = values if values is not None else {}

    def __repr__(self) -> str:
        return f"Context({self.name!r}, {sorted(self.values)!r})"

    @property
    def namespaces(self) -> list[str]:
        return list(self.values.get("namespaces", []))


class Config:
    """The configuration file's contents (empty when there is no file)."""

    def __init__(self, path: Path, *, exists: bool = False, private: bool = True) -> None:
        self.path = path
        self.current: str | None = None
        self.contexts: dict[str, Context] = {}
        self.exists = exists
        #: Whether no one but the owner may read the file (inline secrets are trusted only then).
        self.private = private
        #: Key path -> line, for messages.
        self.lines: dict[tuple[str, ...], int] = {}

    def __repr__(self) -> str:
        return f"Config({str(self.path)!r}, current={self.current!r}, {list(self.contexts)!r})"

    def context(self, name: str) -> Context:
        found = self.contexts.get(name)
        if found is None:
            known = ", ".join(sorted(self.contexts)) or "none"
            where = self.path if self.exists else f"{self.path} (no such file)"
            raise ConfigError(f"no context {name!r} in {where} (contexts: {known})")
        return found

    def where(self, *path: str) -> str:
        """`FILE:LINE` of a key (or of its table)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return f"{self.path}:{self.lines[path[:end]]}"
        return f"{self.path}:1"

    # --- writing ------------------------------------------------------------------------

    def to_toml(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.current is not None:
            document["current-context"] = self.current
        document["contexts"] = {name: dict(c.values) for name, c in self.contexts.items()}
        return document

    def save(self) -> None:
        """Write the file (atomically; a new file is created mode 0600, an existing one keeps
        its mode)."""
        import tomli_w

        text = tomli_w.dumps(self.to_toml())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o600
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(temporary, mode)
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self.exists = True
        self.private = not mode & 0o077


def load(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The configuration at `path` (default: `config_path(env)`); an empty one if there is no
    file; ConfigError for a file that cannot be used."""
    where = Path(path) if path is not None else config_path(env)
    try:
        raw = where.read_bytes()
        status = where.stat()
    except (FileNotFoundError, NotADirectoryError):
        return Config(where)
    except OSError as error:
        raise ConfigError(f"{where}: cannot read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(f"{where}:{line}: not UTF-8 text") from None
    from nsctl.toml_text import key_lines

    config = Config(where, exists=True, private=not status.st_mode & 0o077)
    config.lines = key_lines(text)
    _read(config, _parse(text, where))
    return config


def _parse(text: str, where: Path) -> dict[str, Any]:
    from nsctl.toml_text import TomlSyntaxError, parse_toml

    try:
        return parse_toml(text)
    except TomlSyntaxError as error:
        raise ConfigError(f"{where}:{error.line or 1}: invalid TOML: {error.message}") from None


def _read(config: Config, data: dict[str, Any]) -> None:
    for key in data:
        if key not in ("current-context", "contexts"):
            raise ConfigError(
                f"{config.where(key)}: {key}: unknown key (expected current-context, contexts)"
            )
    contexts = data.get("contexts", {})
    if not isinstance(contexts, dict):
        raise ConfigError(f"{config.where('contexts')}: contexts: expected a table of contexts")
    for name, values in contexts.items():
        if not isinstance(values, dict):
            raise ConfigError(
                f"{config.where('contexts', name)}: contexts.{name}: expected a table "
                f"([contexts.{name}])"
            )
        if not re.fullmatch(_NAME, name):
            raise ConfigError(
                f"{config.where('contexts', name)}: {name!r}: a context name is letters, digits "
                "and . _ @ -"
            )
        for key, value in values.items():
            problem = check_value(key, value)
            if problem:
                raise ConfigError(f"{config.where('contexts', name, key)}: contexts.{name}.{key}: "
                                  f"{problem}")  # fmt: skip
        problem = check_context(values)
        if problem:
            raise ConfigError(f"{config.where('contexts', name)}: contexts.{name}: {problem}")
        config.contexts[name] = Context(name, dict(values))
    current = data.get("current-context")
    if current is not None:
        if not isinstance(current, str) or current not in config.contexts:
            known = ", ".join(sorted(config.contexts)) or "none"
            raise ConfigError(
                f"{config.where('current-context')}: current-context: {current!r} is not a "
                f"context of this file (contexts: {known})"
            )
        config.current = current


def check_value(key: str, value: Any) -> str | None:
    """Why `value` cannot be context key `key`, or None when it can."""
    kind = CONTEXT_KEYS.get(key)
    if kind is None:
        return "unknown key (expected one of " + ", ".join(CONTEXT_KEYS) + ")"
    if kind == "bool":
        return None if isinstance(value, bool) else "expected true or false"
    if kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0.01:
            return "expected a number of seconds of at least 0.01"
        return None
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "expected a whole number, 0 or more"
        return None
    if kind == "names":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return "expected a list of names"
        return None
    if not isinstance(value, str) or not value:
        return "expected a non-empty string"
    if kind == "output" and value not in OUTPUTS:
        return "expected one of table, json, plain"
    if kind == "variable" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return "expected the name of an environment variable"
    if kind == "addresses":
        from nsctl.client.discovery import parse_addresses

        try:
            if not parse_addresses(value):
                return "expected host:port[;host:port]"
        except ValueError as error:
            return str(error)
    if kind == "url":
        from nsctl.client.discovery import check_address_server_url

        try:
            check_address_server_url(value)
        except ValueError as error:
            return str(error)
    return None


def check_context(values: Mapping[str, Any]) -> str | None:
    """Why these keys cannot go together, or None."""
    pairs = [
        ("namesrv", "address-server"),
        ("access-key", "access-key-env"),
        ("secret-key", "secret-key-env"),
        ("secret-key", "secret-key-file"),
        ("secret-key-env", "secret-key-file"),
    ]
    for one, other in pairs:
        if one in values and other in values:
            return f"{one} and {other} exclude each other: keep one"
    return None


# --- which setting comes from where --------------------------------------------------------


class Settings:
    """What `resolve` chose: the values (`namesrv` / `address_server`: where the NameServer
    list comes from, None for both when the environment gives it or nothing does), where each
    came from, the context in use, and warnings to show. Each value is an attribute too
    (`settings.timeout`)."""

    def __init__(
        self,
        values: dict[str, Any],
        sources: dict[str, str],
        context: Context | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.values = values
        self.sources = sources
        self.context = context
        self.warnings: list[str] = []
        self.env = env

    def __repr__(self) -> str:
        shown = {k: ("****" if k == "secret_key" and v else v) for k, v in self.values.items()}
        return f"Settings({shown!r}, sources={self.sources!r})"

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def namespaces(self) -> list[str]:
        """The KV namespaces the context in use lists (kv diff / sync / export add them)."""
        return self.context.namespaces if self.context is not None else []

    def credentials(self):
        """`Credentials` from the keys, None without keys; ValueError for one key alone."""
        if self.access_key is None and self.secret_key is None:
            return None
        if not self.access_key or not self.secret_key:
            missing = "secret key" if self.access_key else "access key"
            given = self.sources["access_key" if self.access_key else "secret_key"]
            raise ValueError(f"ACL needs both keys: the {missing} is missing (the other is from "
                             f"{given})")  # fmt: skip
        from nsctl.protocol.acl import Credentials

        return Credentials(self.access_key, self.secret_key)

    def resolve_addresses(self):
        """The NameServer list (`ResolvedAddresses`): the addresses chosen, else the address
        server chosen (asked now), else what the environment gives (discovery's order)."""
        from nsctl.client.discovery import resolve_addresses

        from_env = self.namesrv is None and self.address_server is None
        return resolve_addresses(
            self.namesrv,
            address_server_url=self.address_server,
            env=self.env if from_env else {},
            timeout=self.timeout,
        )

    def manager_config(self, **more: Any):
        """A `NameServerConfig` for a manager with these settings (`more`: other fields)."""
        from nsctl.client.manager import NameServerConfig

        fields: dict[str, Any] = {
            "nameserver_addrs": self.resolve_addresses().addresses,
            "timeout": self.timeout,
            "connect_timeout": self.timeout,
            "max_retry_times": self.retries + 1,
            "tls": self.tls,
            "tls_ca": str(self.tls_ca) if self.tls_ca is not None else None,
            "tls_insecure": self.tls_insecure,
            "credentials": self.credentials(),
        }
        return NameServerConfig(**{**fields, **more})


_ADDRESS_ENV = ("NAMESRV_ADDR", "NSCTL_ADDRESS_SERVER_URL", "ROCKETMQ_NAMESRV_DOMAIN")
_KEY_ENV = {"access_key": "NSCTL_ACCESS_KEY", "secret_key": "NSCTL_SECRET_KEY"}


def resolve(
    explicit: Mapping[str, Any] | None = None,
    *,
    context: str | None = None,
    context_source: str = "--context",
    config: Config | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Each setting from the first source that has it: `explicit` (keys `namesrv`,
    `address_server`, `tls`, `tls_ca`, `tls_insecure`, `timeout`, `retries`, `access_key`,
    `secret_key`, `output`; give only those really given), the context named `context`, the
    environment, the current context (only when `context` is None), the defaults."""
    environ = os.environ if env is None else env
    given = dict(explicit or {})
    if config is None:
        config = load(env=environ)
    chosen = config.context(context) if context else None
    current = config.contexts.get(config.current) if chosen is None and config.current else None
    layers: list[tuple[str, Context | None]] = [
        (f"context {context} ({context_source})", chosen),
        (f"current context {config.current} ({config.path})", current),
    ]
    settings = Settings({}, {}, chosen or current, env=env)

    # The NameServer list: one setting, whatever gives it (addresses or an address server).
    settings.values.update(namesrv=None, address_server=None)
    if given.get("namesrv"):
        settings.values["namesrv"] = given["namesrv"]
        settings.sources["namesrv"] = "-n/--namesrv"
    elif given.get("address_server"):
        settings.values["address_server"] = given["address_server"]
        settings.sources["namesrv"] = "--address-server"
    else:
        for label, layer in _with_environment(layers, "namesrv", environ):
            if layer is _ENVIRONMENT:  # discovery reads it, with its own messages
                settings.sources["namesrv"] = label
                break
            if "namesrv" in layer.values:
                settings.values["namesrv"] = layer.values["namesrv"]
                settings.sources["namesrv"] = label
                break
            if "address-server" in layer.values:
                settings.values["address_server"] = layer.values["address-server"]
                settings.sources["namesrv"] = label
                break
        else:
            settings.sources["namesrv"] = "none"

    for name, default in DEFAULTS.items():
        if name in given and given[name] is not None:
            settings.values[name] = given[name]
            settings.sources[name] = "option"
            continue
        for label, layer in _with_environment(layers, name, environ):
            if layer is _ENVIRONMENT:
                settings.values[name] = environ[_KEY_ENV[name]]
                settings.sources[name] = _KEY_ENV[name]
                break
            found = _from_context(config, layer, name, settings.warnings, environ)
            if found is not None:
                settings.values[name] = found
                settings.sources[name] = label
                break
        else:
            settings.values[name] = default
            settings.sources[name] = "default"
    return settings


_ENVIRONMENT = Context("(environment)")


def _with_environment(layers, name: str, environ: Mapping[str, str]):
    """The contexts in use in order, with the environment (`_ENVIRONMENT`) between the chosen
    and the current context when it has this setting."""
    if layers[0][1] is not None:
        yield layers[0]
    if name == "namesrv":
        variable = next((v for v in _ADDRESS_ENV if environ.get(v, "").strip()), None)
        if variable is not None:
            yield variable, _ENVIRONMENT
    elif name in _KEY_ENV and environ.get(_KEY_ENV[name]):
        yield _KEY_ENV[name], _ENVIRONMENT
    if layers[1][1] is not None:
        yield layers[1]


def _from_context(
    config: Config,
    layer: Context | None,
    name: str,
    warnings: list[str],
    environ: Mapping[str, str],
) -> Any:
    """Setting `name` as context `layer` gives it, None when it does not."""
    if layer is None:
        return None
    values = layer.values
    key = name.replace("_", "-")
    if name == "tls_ca":
        return _path(config, values["tls-ca"]) if "tls-ca" in values else None
    if name == "timeout" and "timeout" in values:
        return float(values["timeout"])
    if name in ("access_key", "secret_key"):
        if f"{key}-env" in values:
            variable = values[f"{key}-env"]
            value = environ.get(variable)
            if not value:
                raise ConfigError(
                    f"{config.where('contexts', layer.name, key + '-env')}: context "
                    f"{layer.name}: {key}-env: ${variable} is not set"
                )
            return value
        if f"{key}-file" in values:
            return _secret_file(config, layer, _path(config, values[f"{key}-file"]), warnings)
        if key in values and name == "secret_key" and not config.private:
            warnings.append(
                f"{config.path} holds the secret key of context {layer.name} and others may "
                f"read it: chmod 600 {config.path}"
            )
        return values.get(key)
    return values.get(key)


def _path(config: Config, text: str) -> Path:
    path = Path(os.path.expandvars(text)).expanduser()
    return path if path.is_absolute() else config.path.parent / path


def _secret_file(config: Config, layer: Context, path: Path, warnings: list[str]) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigError(
            f"{config.where('contexts', layer.name, 'secret-key-file')}: context {layer.name}: "
            f"secret-key-file {path}: {reason}"
        ) from None
    if not text:
        raise ConfigError(f"{config.where('contexts', layer.name, 'secret-key-file')}: context "
                          f"{layer.name}: secret-key-file {path} is empty")  # fmt: skip
    if mode & 0o077:
        warnings.append(f"{path} holds a secret key and others may read it: chmod 600 {path}")
    return text


# --- mqadmin's tools.yml ---------------------------------------------------------------------


def read_tools_yml(path: Path | str) -> tuple[str, str]:
    """(accessKey, secretKey) of mqadmin's `conf/tools.yml` (`accessKey: ...` lines)."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigError(f"{where}: cannot read: {reason}") from None
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key in ("accessKey", "secretKey"):
            if not value:
                raise ConfigError(f"{where}:{number}: {key}: empty")
            found[key] = value
    missing = [k for k in ("accessKey", "secretKey") if k not in found]
    if missing:
        raise ConfigError(f"{where}: no {' and no '.join(missing)} line (expected 'accessKey: "
                          "...' and 'secretKey: ...')")  # fmt: skip
    return found["accessKey"], found["secretKey"]
