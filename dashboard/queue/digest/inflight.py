"""The jobs one digest process runs at once: a thread per job in flight.

Request types stay synchronous: their ``execute`` waits on the network, so threads are
what lets one process keep many of them waiting at once. Each thread runs whole jobs,
one at a time (a job's requests in order, in that one thread). A thread holds no
database connection: it borrows one of the digest's few for each write (see
connections.py and steps.py), so a thousand threads wait on APIs on a handful of
connections.

A thread stuck in a call past its timeout is abandoned (see calls.py): another takes
its place, so the digest keeps its concurrency, and it leaves once its call returns.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("dashboard.digest")

_CLOSE = object()


class InFlight:
    """Up to ``size`` jobs running at once, each in a thread of its own; with ``inline``,
    each in the caller's thread as it is submitted (an in-memory SQLite database lives in
    one thread's connection).

    With ``shared_context`` each thread runs in a copy of the creator's context (its
    contextvars: a Flask app context, for one thread at a time as before threads).
    Threads start as work arrives (a run with one due job starts one). ``run(work)`` does
    a job; the first exception it raises sets ``stopping`` (so the other threads finish
    their request and give back their jobs) and is raised again to the caller, by
    ``wait`` or on leaving the ``with`` block.
    """

    def __init__(self, size: int, run: Callable[[Any], None], stopping: threading.Event, *,
                 inline: bool = False, shared_context: bool = False) -> None:
        self.size = size
        self.inline = inline
        self._context = contextvars.copy_context() if shared_context else None
        self._run = run
        self._stopping = stopping
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._changed = threading.Condition()
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._abandoned: set[threading.Thread] = set()
        self._started = 0
        self._woken = False
        self.error: BaseException | None = None

    def __enter__(self) -> InFlight:
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, tb: object) -> None:
        if value is not None:
            self._stopping.set()  # the caller failed: the threads stop at their next step
        with self._changed:
            # Every job ended (an abandoned call's by the watch of calls.py); the threads
            # left are idle: a thread stuck in a call is not waited for.
            self._changed.wait_for(lambda: self._busy == 0)
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_CLOSE)
        for thread in threads:
            thread.join()
        if value is None and self.error is not None:
            raise self.error

    @property
    def busy(self) -> int:
        with self._changed:
            return self._busy

    def submit(self, work: Any) -> None:
        if self.inline:
            with self._changed:
                self._busy += 1
            self._do(work)
            if self.error is not None:
                raise self.error
            return
        with self._changed:
            self._busy += 1
            self._add_threads()
        self._queue.put(work)

    def abandon(self, thread: threading.Thread) -> None:
        """``thread`` is stuck in a call: another thread takes its place, and it leaves
        once the call returns. Its job counts as in flight until ``ended()``."""
        with self._changed:
            if thread not in self._threads:
                return
            self._threads.remove(thread)
            self._abandoned.add(thread)
            self._add_threads()

    def ended(self) -> None:
        """An abandoned thread's job was ended for it (its outcome written)."""
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    def wait(self, *, below: int, timeout: float) -> int:
        """Wait until fewer than ``below`` jobs are in flight, or ``wake()``, at most
        ``timeout`` seconds; returns how many are. Raises a thread's error."""
        with self._changed:
            self._changed.wait_for(lambda: self._busy < below or self._woken
                                   or self.error is not None, timeout)
            self._woken = False
            if self.error is not None:
                raise self.error
            return self._busy

    def wake(self) -> None:
        """End the caller's ``wait`` now."""
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def _add_threads(self) -> None:
        """As many threads as jobs in flight, up to ``size`` (the lock held)."""
        while len(self._threads) < min(self._busy, self.size):
            self._started += 1
            serve = self._serve if self._context is None else functools.partial(
                self._context.copy().run, self._serve)
            thread = threading.Thread(target=serve, daemon=True, name=f"digest-{self._started}")
            self._threads.append(thread)
            thread.start()

    def _serve(self) -> None:
        me = threading.current_thread()
        while (work := self._queue.get()) is not _CLOSE:
            self._do(work)
            with self._changed:
                if me in self._abandoned:
                    self._abandoned.discard(me)
                    return

    def _do(self, work: Any) -> None:
        try:
            self._run(work)
        except BaseException as error:
            self.fail(error)
        finally:
            with self._changed:
                if threading.current_thread() not in self._abandoned:
                    self._busy -= 1
                self._changed.notify_all()

    def fail(self, error: BaseException) -> None:
        self._stopping.set()
        with self._changed:
            if self.error is None:
                self.error = error
            else:
                log.debug("another thread failed too: %s", error)
            self._changed.notify_all()
