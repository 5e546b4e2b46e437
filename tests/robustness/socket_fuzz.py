"""Raw-socket fuzzing of a live `nsctl serve`: hostile bytes over fresh connections, and after
every `probe_every` cases a check on a new connection that the server still serves the canary
route and KV entry exactly."""

from __future__ import annotations

import os
import random
import socket
import time
from collections import Counter

from tests.robustness import canary
from tests.robustness.fuzzing import raw_case

#: Lines in a server log that mean an exception escaped the request path.
ESCAPED = ("data_received() call failed", "Exception in callback", "Unhandled exception")


def default_seed() -> int:
    return int(os.environ.get("NSCTL_FUZZ_SEED", "20240607"))


def send_case(address: str, data: bytes, rng: random.Random, timeout: float = 10.0) -> None:
    """Send `data` in 1-3 pieces on a fresh connection, half-close, and wait until the server
    has closed its side: by then it has dealt with every byte."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 2)))
        try:
            previous = 0
            for cut in [*cuts, len(data)]:
                sock.sendall(data[previous:cut])
                previous = cut
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            # EPIPE, ECONNRESET or ENOTCONN: the server already refused the input and closed
            # (which one depends on how far its close got when we wrote).
            return
        deadline = time.monotonic() + timeout
        try:
            while sock.recv(65536):
                if time.monotonic() > deadline:
                    raise AssertionError("the server keeps answering a half-closed connection")
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(
                f"the server did not close a half-closed connection in {timeout} s"
            ) from None


def fuzz(
    address: str,
    *,
    cases: int,
    seconds: float,
    seed: int,
    probe_every: int = 1,
    alive=lambda: True,
) -> Counter:
    """Run up to `cases` cases (stopping after `seconds`); the kinds run, counted."""
    rng = random.Random(seed)
    kinds: Counter = Counter()
    deadline = time.monotonic() + seconds
    for index in range(cases):
        if time.monotonic() > deadline:
            break
        kind, data = raw_case(rng)
        try:
            send_case(address, data, rng)
        except AssertionError as exc:
            raise AssertionError(f"case {index} ({kind}, seed {seed}): {exc}") from None
        kinds[kind] += 1
        if (index + 1) % probe_every == 0:
            assert alive(), f"the server died at case {index} ({kind}, seed {seed})"
            try:
                canary.probe(address)
            except (AssertionError, OSError) as exc:
                raise AssertionError(
                    f"after case {index} ({kind}, seed {seed}, {data[:64]!r}...): {exc!r}"
                ) from None
    return kinds
