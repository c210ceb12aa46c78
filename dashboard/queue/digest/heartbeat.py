"""The digest's heartbeat: keeps the jobs it holds (its Holdings) while a long request
runs, and tells the Digests page it is alive. It borrows one of the digest's connections
for each beat (connections.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from ..store import claims
from ..store.claims import Lease
from . import processes
from .connections import Connections, first_line

log = logging.getLogger("dashboard.digest")


class Holdings:
    """The ids of the jobs a digest holds, shared by its threads and its heartbeat."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[int, None] = {}  # a set that keeps the claim's order

    def add(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.update(dict.fromkeys(ids))

    def discard(self, ids: Iterable[int]) -> None:
        with self._lock:
            for job_id in ids:
                self._ids.pop(job_id, None)

    def snapshot(self) -> list[int]:
        with self._lock:
            return list(self._ids)

    def take(self) -> list[int]:
        """All of them, no longer held."""
        with self._lock:
            ids, self._ids = list(self._ids), {}
            return ids


class Heartbeat:
    """Renews the lease of every job in ``held()``, a third of a lease apart (at most
    ``processes.BEAT_SECONDS``), so a request that runs longer than the lease keeps its
    job; and beats the digest's row of ``digest_processes``. ``held()`` leaves out the
    jobs whose call ran past its timeout: their lease is never renewed past it."""

    def __init__(self, connections: Connections, lease: Lease,
                 held: Callable[[], list[int]], clock: Callable[[], datetime]) -> None:
        self.connections = connections
        self.lease = lease
        self.held = held
        self.clock = clock
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(processes.beat_seconds(self.lease.seconds)):
            held = list(self.held())
            try:
                with self.connections.borrow() as connection, connection.begin():
                    measure = getattr(self.clock, "measure", None)
                    if measure is not None:  # the database's clock, read again (db_clock.py)
                        measure(connection)
                    now = self.clock()
                    claims.renew(connection, self.lease, held, now=now)
                    processes.beat(connection, self.lease.worker, now=now)
            except Exception as error:  # the next beat tries again; the lease has slack
                # One line: during an outage this repeats every beat, into cron's log.
                log.warning("could not renew the lease of jobs %s: %s", held,
                            first_line(error))
