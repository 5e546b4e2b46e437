"""The NameServer's KV config store: namespace -> key -> value, persisted as Java lays it out.

The file holds `{"configTable":{<namespace>:{<key>:<value>}}}` (what Java's kvConfig.json holds,
so either server can read the other's file).

Values are strings, the empty string included; a put never deletes. The one value that is not
a string is Java's null, which a NameServer stores when PUT_KV_CONFIG carries no value (over the
ROCKETMQ serialization, an empty one): the key then reads as absent everywhere -- lookups, lists
and the file, which leaves nulls out -- until it is put again or deleted, as in Java.

Unlike Java, a write can never leave a torn file: the new content goes to a temporary file in
the same directory, is fsynced and renamed over the old one, and the directory is fsynced. The
previous content is kept in `<path>.bak` (by a hard link or copy made before the rename), and a
corrupt main file falls back to it at start-up.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from nsctl.protocol import dialect
from nsctl.protocol.errors import ProtocolError
from nsctl.protocol.models import KVConfigFile
from nsctl.server.changes import next_stamp

log = logging.getLogger(__name__)


class KVStoreError(RuntimeError):
    """The store cannot be loaded (both the file and its backup are unreadable)."""


class KVStore:
    """Namespaces of string key/value pairs; every change is on disk before the call returns."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.backup_path = self.path.with_name(self.path.name + ".bak")
        #: None is Java's null: held, never shown (see the module's docstring).
        self._table: dict[str, dict[str, str | None]] = {}
        #: Stamp of the last change (nsctl.server.changes).
        self.generation = next_stamp()

    # ------------------------------------------------------------------------------------------
    # Loading

    def load(self) -> None:
        """Read the file; a corrupt file falls back to the backup, both corrupt is an error.
        A file that cannot be written later (its directory is read-only, or not a directory)
        is an error now, at start-up, rather than a failure of every KV write."""
        self.generation = next_stamp()
        try:
            self._table = _read(self.path)
            self.check_writable()
            return
        except _Corrupt as main_error:
            log.error(
                "KV config file %s is corrupt (%s); loading the backup %s",
                self.path,
                main_error,
                self.backup_path,
            )
            try:
                if not self.backup_path.exists():
                    raise _Corrupt("it does not exist")
                self._table = _read(self.backup_path)
            except _Corrupt as backup_error:
                raise KVStoreError(
                    f"KV config file {self.path} is corrupt ({main_error}) and so is its backup "
                    f"{self.backup_path} ({backup_error}); fix or remove them to start"
                ) from None
        log.warning("KV config restored from %s: %d namespaces", self.backup_path, len(self._table))
        # Rewrite the main file from the backup, keeping the backup as it is.
        write_atomically(self.path, self._encode())

    def check_writable(self) -> None:
        """KVStoreError unless a file can be created beside `path` (as every write does)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise KVStoreError(
                f"KV config file {self.path} cannot be written: cannot create a file in "
                f"{self.path.parent}: {_reason(exc)}"
            ) from None

    # ------------------------------------------------------------------------------------------
    # Reads

    def get(self, namespace: str, key: str) -> str | None:
        """The value (possibly ""); None when the namespace or key is absent or holds null."""
        entries = self._table.get(namespace)
        return None if entries is None else entries.get(key)

    def namespace(self, namespace: str) -> dict[str, str] | None:
        """A copy of one namespace's values; None if it was never created (empty is not None)."""
        entries = self._table.get(namespace)
        return None if entries is None else _values(entries)

    def key_count(self) -> int:
        """Keys in all namespaces (safe to call from another thread: copies in C calls)."""
        return sum(map(len, list(self._table.values())))

    def has_namespace(self, namespace: str) -> bool:
        return namespace in self._table

    def snapshot(self) -> dict[str, dict[str, str]]:
        return {ns: _values(entries) for ns, entries in self._table.items()}

    # ------------------------------------------------------------------------------------------
    # Writes (each one rewrites the file, as Java does)

    def put(self, namespace: str, key: str, value: str | None, *, persist: bool = True) -> None:
        """Set a value, creating the namespace if needed. `""` is stored like any other value;
        None stores Java's null, which reads as absent (see the module's docstring).
        `persist=False`: the caller writes the file (`write_job`)."""
        self.generation = next_stamp()
        self._table.setdefault(namespace, {})[key] = value
        if persist:
            self._persist()

    def delete(self, namespace: str, key: str, *, persist: bool = True) -> None:
        """Remove a key; the namespace stays even when it becomes empty."""
        self.generation = next_stamp()
        entries = self._table.get(namespace)
        if entries is not None:
            entries.pop(key, None)
        if persist:
            self._persist()

    def write_job(self) -> Callable[[], None]:
        """The write of the store as it is now, for another thread: the table is copied here
        (C-level dict copies) and encoded and written there. Jobs must run in the order they
        were made, as one worker thread runs them (server.offload)."""
        table = {namespace: dict(entries) for namespace, entries in self._table.items()}
        return functools.partial(self._write, table)

    def _persist(self) -> None:
        self._write(self._table)

    def _write(self, table: dict[str, dict[str, str | None]]) -> None:
        write_atomically(self.path, encode_table(table), backup=self.backup_path)

    def _encode(self) -> bytes:
        return encode_table(self._table)


def encode_table(table: dict[str, dict[str, str | None]]) -> bytes:
    """The file's bytes, `KVConfigFile(<values>).encode()`, each namespace made a piece at a
    time (`dialect.dumps_in_pieces`) so that a worker thread making it lets the event loop in."""
    namespaces = (
        f"{dialect.dumps(namespace)}:{dialect.dumps_in_pieces(_values(entries))}"
        for namespace, entries in table.items()
    )
    return ('{"configTable":{%s}}' % ",".join(namespaces)).encode("utf-8")


def _values(entries: dict[str, str | None]) -> dict[str, str]:
    """The entries that hold a value: Java's nulls are never shown or written."""
    return {key: value for key, value in entries.items() if value is not None}


class _Corrupt(Exception):
    pass


def _read(path: Path) -> dict[str, dict[str, str]]:
    """Parse one store file; a missing or empty file is an empty store."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except (NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        # The path itself is wrong: the backup would not help, and the file is not corrupt.
        raise KVStoreError(f"KV config file {path} cannot be read: {_reason(exc)}") from None
    except OSError as exc:
        raise _Corrupt(f"cannot read: {exc}") from None
    if not raw.strip():
        return {}
    try:
        return KVConfigFile.decode(raw).config_table
    except ProtocolError as exc:
        raise _Corrupt(str(exc)) from None


def _reason(error: OSError) -> str:
    if isinstance(error, NotADirectoryError):
        return "a parent of it is a file, not a directory"
    return error.strerror or str(error)


def write_atomically(path: Path, data: bytes, *, backup: Path | None = None) -> None:
    """Replace `path` with `data` so that a crash at any instant leaves the old or new content.

    The old content is kept at `backup` first (a hard link when possible, so it costs nothing
    and is itself complete); the new content is written to a temporary file in the same
    directory, fsynced, renamed over `path`, and the directory is fsynced so the rename lasts.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if backup is not None and path.exists():
        _replace_backup(path, backup)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def _replace_backup(path: Path, backup: Path) -> None:
    tmp = backup.with_name(backup.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(path, tmp)
    except OSError:
        # No hard links here (some file systems): copy, and fsync so the copy is whole.
        with open(tmp, "wb") as handle:
            handle.write(path.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, backup)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
