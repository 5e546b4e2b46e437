"""Change stamps for the server's state (route table, KV store, configuration).

Every change takes a new stamp from one process-wide counter, so the largest stamp of the
parts a server is made of grows with every change, even when a part is replaced by a new
object. Whatever was computed from the state (the answer cache) is valid while it stays put.
"""

from __future__ import annotations

import itertools

_stamps = itertools.count(1)


def next_stamp() -> int:
    """A stamp larger than every one handed out before."""
    return next(_stamps)
