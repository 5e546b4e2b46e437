"""A worker thread for the work that grows with the table: decoding and planning a large
registration, putting a large topic list in Java's order and encoding it.

The event loop owns the tables and answers everyone; such work would hold it for hundreds of
milliseconds at 100,000 topics. Run here instead, it still competes for the GIL, but the loop
gets the GIL back within the switch interval whenever a request arrives, so other clients wait
about a millisecond instead of the whole computation. `Worker.start` lowers the interpreter's
switch interval to `SWITCH_INTERVAL` for that reason; long C calls (a large sort, a large
`json.loads`) are not interrupted, which is why the work itself is written in pieces.

Work given to the worker must read only values that nobody changes meanwhile (snapshots, the
tables of `java_order.OrderJob`, decoded bodies), or be checked on its return by the loop
(`RouteTable.topics_stamp`). The thread is a daemon: a process that exits does not wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005).
SWITCH_INTERVAL = 0.0002


class Worker:
    """One thread running functions in the order given; `run` is awaited on the event loop."""

    def __init__(self, name: str = "nsctl-offload") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
        self._thread.start()

    def run(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`function(*args)` in the worker; its result (or exception) on the running loop."""
        self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, function, args))
        return future

    def run_and_forget(self, function: Callable[..., Any], *args: Any) -> None:
        """`function(*args)` in the worker, in turn; nobody waits for it (errors are logged)."""
        self.start()
        self._jobs.put((None, None, function, args))

    def stop(self) -> None:
        """Let the thread end after the work already given (not waited for)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread = None

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, function, args = job
            if future is None:
                try:
                    function(*args)
                except Exception:
                    log.exception("work in the worker thread failed")
                continue
            if future.cancelled():  # its connection closed meanwhile: nobody waits for it
                continue
            try:
                outcome = (True, function(*args))
            except BaseException as exc:  # handed to the awaiting task, which decides
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody to tell
                loop.call_soon_threadsafe(_settle, future, outcome)


#: Entries freed per step of `release`.
_PIECE = 4096


def release(objects: list) -> None:
    """Free large dicts and sets a piece at a time (run in the worker): freeing 100,000
    entries in one C call would hold the GIL for tens of milliseconds."""
    for container in objects:
        if isinstance(container, dict):
            pop: Callable[[], Any] = functools.partial(dict.popitem, container)
        elif isinstance(container, set):
            pop = container.pop
        else:
            continue
        while container:
            for _ in range(min(_PIECE, len(container))):
                pop()
    objects.clear()


def _settle(future: asyncio.Future, outcome: tuple[bool, Any]) -> None:
    if future.cancelled():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
