"""The requests a digest is executing now, each with its timeout, and the watch that ends
the ones that outrun it.

Python can't kill a thread: a request type's ``execute`` stuck on a socket with no
timeout stays stuck. So a call past its request's timeout (``RequestType.timeout``, else
QUEUE_REQUEST_TIMEOUT) is abandoned instead: the watch hands it to ``ended(call,
reason)``, which writes its failed attempt ("timed out after N s") and lets the job go
on by the retry schedule; its thread is left to itself and counted apart (``hung``).
Should the call return one day, ``end`` says it was abandoned, and its result is
discarded.

A stop at once (a second SIGTERM or SIGINT) abandons every call the same way
(``abandon_all``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("dashboard.digest")


def timed_out(seconds: float) -> str:
    """The error of an attempt ended at its timeout."""
    return f"timed out after {seconds:g} s"


@dataclass(eq=False)
class Call:
    """One request being executed, by ``thread``."""

    job_id: int
    row: Any  # the request's row as the digest read it
    timeout: float
    started_at: datetime
    #: When (``time.monotonic()``) it is overdue.
    deadline: float
    #: What the job's run did so far (its DigestResult): the watch's to count if abandoned.
    done: Any = None
    thread: threading.Thread = field(default_factory=threading.current_thread)
    abandoned: bool = False
    #: When it was due to start, for its attempt if it is abandoned.
    due_at: datetime | None = None


class Calls:
    """The calls in flight; with ``watch=True``, a thread (there while calls are) that
    ends the overdue ones: ``abandoned(thread)`` at once
    (the call's end then knows it was), then ``ended(call, reason)``. Without it (a run
    in the caller's thread, see inflight.py), nothing can end a call."""

    def __init__(self, ended: Callable[[Call, str], None],
                 abandoned: Callable[[threading.Thread], None], *, watch: bool = True) -> None:
        self._ended = ended
        self._abandoned = abandoned
        self._watch = watch
        self._calls: dict[int, Call] = {}  # by job id: a job runs one request at a time
        self._changed = threading.Condition()
        self._stop_reason: str | None = None
        #: Abandoned calls whose thread is still stuck in them.
        self.hung = 0
        self._thread: threading.Thread | None = None

    def begin(self, job_id: int, row: Any, timeout: float, started_at: datetime,
              done: Any = None, *, due_at: datetime | None = None) -> Call:
        call = Call(job_id, row, timeout, started_at, time.monotonic() + timeout, done,
                    due_at=due_at)
        with self._changed:
            self._calls[job_id] = call
            if self._watch and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-timeouts",
                                                daemon=True)
                self._thread.start()
            self._changed.notify_all()
        return call

    def end(self, call: Call) -> bool:
        """The call returned: True when in time (its result stands), False when it had
        been abandoned (its result is discarded)."""
        with self._changed:
            if call.abandoned:
                self.hung -= 1
                return False
            self._calls.pop(call.job_id, None)
            return True

    def overdue(self, job_id: int) -> bool:
        """Whether the job's call ran past its timeout (its lease is not renewed)."""
        with self._changed:
            call = self._calls.get(job_id)
        return call is not None and (call.abandoned or time.monotonic() >= call.deadline)

    def abandon_all(self, reason: str) -> None:
        """End every call now, as if overdue, with ``reason`` as its error."""
        with self._changed:
            self._stop_reason = reason
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                due = self._take_overdue()
                while not due:
                    deadlines = [c.deadline for c in self._calls.values()]
                    if not deadlines:  # no call left to watch: the next one starts another
                        self._thread = None
                        return
                    self._changed.wait(max(0.0, min(deadlines) - time.monotonic()))
                    due = self._take_overdue()
            for call, reason in due:
                log.warning("job %s request %s (%s): %s; its thread is abandoned",
                            call.job_id, call.row.id, call.row.type_code, reason)
                try:
                    self._ended(call, reason)
                except Exception:  # the run has failed: ended() reported it
                    log.debug("could not end job %s's call", call.job_id, exc_info=True)

    def _take_overdue(self) -> list[tuple[Call, str]]:
        now = time.monotonic()
        due = []
        for job_id, call in list(self._calls.items()):
            if self._stop_reason is not None or now >= call.deadline:
                call.abandoned = True
                self.hung += 1
                self._abandoned(call.thread)
                del self._calls[job_id]
                due.append((call, self._stop_reason or timed_out(call.timeout)))
        return due
