"""The jobs one digest process runs at once: a thread per job in flight.

Request types stay synchronous: their ``execute`` waits on the network, so threads are
what lets one process keep several of them waiting at once. Each thread runs whole
jobs, one at a time (a job's requests in order, in that one thread), and does its
database work on a pooled connection of its own, held for the thread's life.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .database import EXTRA_CONNECTIONS

log = logging.getLogger("dashboard.digest")

_CLOSE = object()


def in_memory(engine: Any) -> bool:
    """An in-memory SQLite database: it lives in one connection, which threads can't share
    (SQLAlchemy gives each thread a database of its own)."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def pool_capacity(engine: Any) -> int | None:
    """How many connections ``engine``'s pool hands out at once; None: no limit."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", -1)
    if not callable(size) or overflow < 0:
        return None
    return size() + overflow


def check_pool(engine: Any, concurrency: int) -> None:
    """Refuse up front a pool too small for the threads: they would wait for a
    connection, then fail, in the middle of a run."""
    if in_memory(engine):
        raise ValueError(f"concurrency {concurrency} needs a database file: an in-memory "
                         "SQLite database can't be shared by threads (use concurrency 1)")
    needed = concurrency + EXTRA_CONNECTIONS
    capacity = pool_capacity(engine)
    if capacity is not None and capacity < needed:
        raise ValueError(
            f"concurrency {concurrency} needs {needed} database connections, but the "
            f"engine's pool gives at most {capacity}: raise QUEUE_CONCURRENCY (it sizes "
            f"the pool), or create the engine with pool_size={needed}")


class InFlight:
    """Up to ``size`` jobs running at once, each in a thread of its own.

    Threads start as work arrives (a run with one due job opens one connection), each
    inside ``connected()``. ``run(work)`` does a job; the first exception it raises sets
    ``stopping`` (so the other threads finish their request and give back their jobs)
    and is raised again to the caller, by ``wait`` or on leaving the ``with`` block.
    """

    def __init__(self, size: int, run: Callable[[Any], None],
                 connected: Callable[[], AbstractContextManager],
                 stopping: threading.Event) -> None:
        self.size = size
        self._run = run
        self._connected = connected
        self._stopping = stopping
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._changed = threading.Condition()
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None

    def __enter__(self) -> InFlight:
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, tb: object) -> None:
        if value is not None:
            self._stopping.set()  # the caller failed: the threads stop at their next step
        for _ in self._threads:
            self._queue.put(_CLOSE)
        for thread in self._threads:
            thread.join()
        if value is None and self.error is not None:
            raise self.error

    @property
    def busy(self) -> int:
        with self._changed:
            return self._busy

    def submit(self, work: Any) -> None:
        with self._changed:
            self._busy += 1
            if len(self._threads) < min(self._busy, self.size):
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"digest-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
        self._queue.put(work)

    def wait(self, *, below: int, timeout: float) -> int:
        """Wait until fewer than ``below`` jobs are in flight, at most ``timeout``
        seconds; returns how many are. Raises a thread's error."""
        with self._changed:
            self._changed.wait_for(lambda: self._busy < below or self.error is not None,
                                   timeout)
            if self.error is not None:
                raise self.error
            return self._busy

    def _serve(self) -> None:
        closed = False
        try:
            with self._connected():
                while (work := self._queue.get()) is not _CLOSE:
                    self._do(work)
                closed = True
        except BaseException as error:  # could not connect, or close the connection
            self._failed(error)
            if not closed:
                self._drain()

    def _do(self, work: Any) -> None:
        try:
            self._run(work)
        except BaseException as error:
            self._failed(error)
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()

    def _drain(self) -> None:
        """Without a connection: count what is sent here as done; the jobs' leases expire."""
        while (work := self._queue.get()) is not _CLOSE:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()
            del work

    def _failed(self, error: BaseException) -> None:
        self._stopping.set()
        with self._changed:
            if self.error is None:
                self.error = error
            else:
                log.debug("another thread failed too: %s", error)
            self._changed.notify_all()
