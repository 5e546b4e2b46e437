"""Where the KV store lives: a path it cannot write is refused when it loads, and a path
through a file is a path problem, not a corrupt store."""

from __future__ import annotations

import os

import pytest

from nsctl.server.kvstore import KVStore, KVStoreError


def test_a_writable_new_directory_is_created(tmp_path):
    store = KVStore(tmp_path / "new" / "dir" / "kv.json")
    store.load()
    store.put("ns", "k", "v")
    again = KVStore(tmp_path / "new" / "dir" / "kv.json")
    again.load()
    assert again.get("ns", "k") == "v"


def test_a_parent_that_is_a_file_is_a_path_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(KVStoreError, match="a parent of it is a file") as caught:
        KVStore(tmp_path / "file" / "kv.json").load()
    assert "corrupt" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_is_refused_at_load(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        with pytest.raises(KVStoreError, match="cannot be written"):
            KVStore(directory / "kv.json").load()
    finally:
        directory.chmod(0o700)


def test_a_directory_where_nothing_can_be_created_is_refused_at_load():
    # /proc refuses new files even to root.
    with pytest.raises(KVStoreError, match="cannot be written: cannot create a file in /proc"):
        KVStore("/proc/kv.json").load()
