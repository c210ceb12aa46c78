"""Connector limits shared by every digest on every host: calls per second, calls at once.

A limited connector has a row in ``connectors``. A call takes its turn with one UPDATE of
that row: the database locks the row, so concurrent takers, on any host, go one after
the other, and each checks the condition against the row as the one before left it.

- ``rate_limit``: ``next_call_at`` is when the next call may start, by the database's
  clock. A call takes the later of it and now, and pushes it 1 / rate_limit further; the
  caller then sleeps until its turn. So calls start at least 1 / rate_limit apart,
  whichever host makes them, and one read clock makes the hosts' clocks irrelevant.
- ``max_in_flight``: ``in_flight`` counts calls not yet ended; the UPDATE applies only
  below the limit. In the same transaction each call gets a row in ``connector_calls``
  naming its job and digest, and its end deletes that row with the count. A call whose
  digest died is taken back once that digest's lease on the job has run out.

A call that would wait longer than the digest's ``limit_wait`` is refused with
ConnectorBusy, which says when to try again; the digest gives the job back until then
(``give_back``), with no attempt counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..jobs.models import ConnectorCall, ConnectorRow, Job, Request
from ..jobs.states import JobState, RequestState
from ..jobs.types import DEFAULT_CONNECTOR, Connector, registry
from ..store.claims import Lease
from .db_clock import db_epoch

log = logging.getLogger("dashboard.digest")

connectors = ConnectorRow.__table__
calls = ConnectorCall.__table__
jobs = Job.__table__
requests = Request.__table__

#: How long a request waits between two looks at a full connector: it doubles up to the
#: second figure, so a long wait costs a few statements a second.
FIRST_POLL, LAST_POLL = 0.02, 0.25
#: When a job given back because its connector was full may run again: when a slot
#: frees up is unknown, so the next digest run looks again.
FULL_RETRY = 1.0
RECLAIMED_AT_ONCE = 1000


class ConnectorBusy(Exception):
    """No turn at the connector within the wait allowed; ``retry_in`` seconds from now
    there may be one. Not a failure of the request: nothing of it ran."""

    def __init__(self, connector: str, retry_in: float, reason: str) -> None:
        super().__init__(f"connector {connector!r} {reason}; may run in {retry_in:.2f}s")
        self.connector = connector
        self.retry_in = retry_in


# Parameters are named apart from the columns: an UPDATE takes a parameter named like a
# column as a value for that column.
_NAME = connectors.c.name == sa.bindparam("connector_name")
_AT = sa.bindparam("at", type_=connectors.c.updated_at.type)


def _take(rate: bool, slots: bool) -> sa.Update:
    """The one statement that takes a turn: applies, or changes nothing, atomically."""
    now = db_epoch()
    values: dict[str, sa.ColumnElement] = {"in_flight": connectors.c.in_flight + 1,
                                           "updated_at": _AT}
    conditions = [_NAME]
    if rate:
        start = sa.case((connectors.c.next_call_at > now, connectors.c.next_call_at),
                        else_=now)
        values["next_call_at"] = start + sa.bindparam("interval", type_=sa.Double)
        conditions.append(
            connectors.c.next_call_at <= now + sa.bindparam("max_wait", type_=sa.Double))
    if slots:
        conditions.append(connectors.c.in_flight < sa.bindparam("slots", type_=sa.Integer))
    return sa.update(connectors).where(*conditions).values(**values)


_TAKE = {(rate, slots): _take(rate, slots)
         for rate in (False, True) for slots in (False, True) if rate or slots}
#: After a take, how far ahead the connector's next call is.
_AHEAD = sa.select(connectors.c.next_call_at - db_epoch()).where(_NAME)
_RELEASE_ONE = sa.update(connectors).where(_NAME).values(
    in_flight=connectors.c.in_flight - sa.bindparam("ended", type_=sa.Integer))


#: A connection, or where to borrow one for each transaction (a digest's: see
#: connections.py), so that a wait for a turn holds none.
Conn = sa.Connection | Callable[[], AbstractContextManager[sa.Connection]]


def _using(conn: Conn) -> AbstractContextManager[sa.Connection]:
    return nullcontext(conn) if isinstance(conn, sa.Connection) else conn()


def live_call(now: datetime) -> sa.Exists:
    """A call's digest still holds its job: the lease that keeps its slot."""
    return sa.exists().where(jobs.c.id == calls.c.job_id, jobs.c.locked_by == calls.c.worker,
                             jobs.c.locked_until >= now)


@dataclass(frozen=True)
class Turn:
    """A call's turn at a limited connector, to ``release`` when the call ends."""

    connector: str
    call_id: int
    #: When (``time.monotonic()``) the call may start, by the rate limit's turn.
    starts_at: float = 0.0
    #: How long the read of the turn took: the database's clock was read somewhere in it,
    #: so the turn began up to this much before ``starts_at`` (never after).
    read_took: float = 0.0


_turn: ContextVar[Turn | None] = ContextVar("connector_turn", default=None)


def current_turn() -> Turn | None:
    """The turn of the call this code runs in (None outside a limited connector's call):
    how late the call started after its turn is ``time.monotonic() - turn.starts_at``."""
    return _turn.get()


def connector_of(type_code: str) -> Connector:
    """The connector of a type; an unknown type fails on its own, with no limit to take."""
    return registry.get(type_code).connector if type_code in registry else DEFAULT_CONNECTOR


def declared_connectors() -> list[Connector]:
    """The limited connectors of the request types loaded in this process."""
    found = {registry.get(code).connector for code in registry.codes()}
    return sorted((c for c in found if c.limited), key=lambda c: c.name)


class ConnectorLimits:
    """A digest's turns at its connectors. Threads may share it, each with its own
    connection; ``stopped`` (the digest's stop event) cuts a wait for a full connector."""

    def __init__(self, lease: Lease, max_wait: float,
                 stopped: threading.Event | None = None) -> None:
        self.lease = lease
        self.max_wait = max_wait
        self.stopped = stopped or threading.Event()
        self._lock = threading.Lock()
        self._registered: set[tuple[str, float | None, int | None]] = set()
        #: Connectors found busy, and until when (monotonic): later requests of this
        #: digest are given back at once instead of waiting in turn.
        self._busy_until: dict[str, float] = {}

    @contextmanager
    def turn(self, conn: Conn, connector: Connector, job_id: int,
             clock: Callable[[], datetime], *,
             max_wait: float | None = None) -> Iterator[Turn | None]:
        """Hold a turn while the body runs. ConnectorBusy: the body did not run."""
        taken = self.acquire(conn, connector, job_id, clock, max_wait=max_wait)
        token = _turn.set(taken)
        try:
            yield taken
        finally:
            _turn.reset(token)
            self.release(conn, taken)

    def acquire(self, conn: Conn, connector: Connector, job_id: int,
                clock: Callable[[], datetime], *,
                max_wait: float | None = None) -> Turn | None:
        """Take a turn (None: the connector has no limit), waiting at most ``max_wait``
        (default: the digest's)."""
        if not connector.limited:
            return None
        self._refuse_if_known_busy(connector.name)
        self._register(conn, connector, clock())
        deadline = time.monotonic() + (self.max_wait if max_wait is None else max_wait)
        pause = FIRST_POLL
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            taken, ahead = self._take(conn, connector, job_id, clock(), remaining)
            if taken is not None:
                # Booked: the turn is this call's, however long the wait, unless the
                # digest stops meanwhile.
                if self.stopped.wait(max(0.0, taken.starts_at - time.monotonic())):
                    self.release(conn, taken)
                    raise ConnectorBusy(connector.name, 0.0, "was left: the digest stopped")
                return taken
            slots = connector.max_in_flight
            if connector.rate_limit is not None and (ahead > remaining or slots is None):
                self._busy(connector.name, ahead, f"is booked {ahead:.2f}s ahead "
                           f"(rate_limit {connector.rate_limit:g}/s)")
            # Full (a moment ago: a slot may have freed up since the refusal).
            if self.reclaim(conn, connector.name, clock()):
                continue
            if remaining <= 0 or self.stopped.wait(min(pause, remaining)):
                self._busy(connector.name, 0.0 if self.stopped.is_set() else FULL_RETRY,
                           f"has its {slots} calls in flight (max_in_flight)")
            pause = min(pause * 2, LAST_POLL)

    def release(self, conn: Conn, taken: Turn | None) -> None:
        """End a call. Never raises: a slot not given back returns once the job is let go."""
        if taken is None:
            return
        try:
            with _using(conn) as conn, conn.begin():
                ended = conn.execute(sa.delete(calls).where(calls.c.id == taken.call_id))
                if ended.rowcount == 1:
                    conn.execute(_RELEASE_ONE, {"connector_name": taken.connector, "ended": 1})
        except Exception as error:
            log.warning("connector %s: could not end call %s (%s); its slot returns once "
                        "its job is let go", taken.connector, taken.call_id,
                        str(error).strip().split("\n", 1)[0])

    def reclaim(self, conn: Conn, name: str, now: datetime) -> int:
        """Take back the slots of calls whose digest no longer holds their job (it was
        killed, or lost its lease); returns how many."""
        with _using(conn) as conn, conn.begin():
            dead = conn.scalars(
                sa.select(calls.c.id).where(calls.c.connector == name, ~live_call(now))
                .limit(RECLAIMED_AT_ONCE)).all()
            # A call dead once stays dead; one ended meanwhile is not deleted twice.
            ended = conn.execute(sa.delete(calls).where(calls.c.id.in_(dead))).rowcount \
                if dead else 0
            if ended:
                conn.execute(_RELEASE_ONE, {"connector_name": name, "ended": ended})
        if ended:
            log.warning("connector %s: took back %d call slots whose digest's lease on the "
                        "job had run out", name, ended)
        return ended

    # -- one turn -------------------------------------------------------------------

    def _take(self, conn: Conn, connector: Connector, job_id: int, now: datetime,
              max_wait: float) -> tuple[Turn | None, float]:
        """One try: the turn (or None), and how far ahead the connector's next call is."""
        rate = connector.rate_limit
        interval = 1.0 / rate if rate is not None else 0.0
        params = {"connector_name": connector.name, "at": now, "interval": interval,
                  "max_wait": max_wait, "slots": connector.max_in_flight}
        with _using(conn) as conn, conn.begin():
            statement = _TAKE[(rate is not None, connector.max_in_flight is not None)]
            taken = conn.execute(statement, params).rowcount == 1
            asked_at = time.monotonic()
            ahead = conn.execute(_AHEAD, params).scalar_one()
            # From this read, not after the commit: its latency must not delay the turn.
            read_at = time.monotonic()
            if not taken:
                return None, max(0.0, ahead)
            inserted = conn.execute(sa.insert(calls).values(
                connector=connector.name, job_id=job_id, worker=self.lease.worker,
                started_at=now)).inserted_primary_key
            assert inserted is not None  # an INSERT of one row has its key
            call_id = inserted[0]
        # The turn starts one interval before the next call's.
        return Turn(connector.name, call_id, read_at + ahead - interval,
                    read_at - asked_at), ahead

    def _register(self, source: Conn, connector: Connector, now: datetime) -> None:
        """Write the connector's row with its limits, once per digest (for the overview,
        and so that the first take finds it)."""
        key = (connector.name, connector.rate_limit, connector.max_in_flight)
        with self._lock:
            if key in self._registered:
                return
        limits = {"rate_limit": connector.rate_limit,
                  "max_in_flight": connector.max_in_flight, "updated_at": now}
        update = sa.update(connectors).where(connectors.c.name == connector.name)
        try:
            with _using(source) as conn, conn.begin():
                if conn.execute(update.values(**limits)).rowcount == 0:
                    conn.execute(sa.insert(connectors).values(
                        name=connector.name, next_call_at=0.0, in_flight=0, **limits))
        except sa.exc.IntegrityError:  # another digest wrote it first
            with _using(source) as conn, conn.begin():
                conn.execute(update.values(**limits))
        with self._lock:
            self._registered.add(key)

    def _refuse_if_known_busy(self, name: str) -> None:
        with self._lock:
            left = self._busy_until.get(name, 0.0) - time.monotonic()
        if left > 0:
            raise ConnectorBusy(name, left, "was found busy by this digest")

    def _busy(self, name: str, retry_in: float, reason: str) -> None:
        with self._lock:
            self._busy_until[name] = time.monotonic() + retry_in
        raise ConnectorBusy(name, retry_in, reason)


def give_back(conn: sa.Connection, lease: Lease, job_id: int, request: sa.Row,
              retry_at: datetime, now: datetime) -> None:
    """Put back a job whose request found its connector busy, as if the request had not
    started: the request in its state before (no attempt counted), the job due again at
    ``retry_at`` and free for any digest. The caller commits."""
    held = sa.exists().where(jobs.c.id == job_id, jobs.c.locked_by == lease.worker)
    conn.execute(sa.update(requests).where(
        requests.c.id == request.id, requests.c.state == RequestState.RUNNING, held,
    ).values(state=request.state, updated_at=now))
    retrying = sa.exists().where(requests.c.job_id == jobs.c.id,
                                 requests.c.state == RequestState.RETRYING)
    running = jobs.c.state == JobState.RUNNING
    # Ordered: MariaDB's SET sees the values set before it, so state comes last. A job an
    # operator paused meanwhile keeps its state; it is only let go.
    conn.execute(sa.update(jobs).where(jobs.c.id == job_id, jobs.c.locked_by == lease.worker)
                 .ordered_values(
        (jobs.c.next_attempt_at, sa.case(
            (running, sa.bindparam("retry_at", retry_at, type_=jobs.c.next_attempt_at.type)),
            else_=jobs.c.next_attempt_at)),
        (jobs.c.locked_by, None), (jobs.c.locked_until, None), (jobs.c.updated_at, now),
        (jobs.c.state, sa.case(
            (running, sa.case((retrying, JobState.RETRYING.value),
                              else_=JobState.PENDING.value)),
            else_=jobs.c.state)),
    ))


def defer(conn: sa.Connection, lease: Lease, job_id: int, request: sa.Row,
          busy: ConnectorBusy, *, now: datetime, not_before: datetime) -> datetime:
    """Give back a job whose request's connector is at its limit, due when the connector
    may have a turn: not a failure, so no attempt is counted. Never before ``not_before``
    (the run's start: a run claims what was due when it started). Returns when it is due
    again. The caller commits."""
    retry_at = max(now + timedelta(seconds=busy.retry_in), not_before)
    give_back(conn, lease, job_id, request, retry_at, now)
    log.info("job %s request %s: %s; given back until %s", job_id, request.id, busy,
             retry_at.isoformat(timespec="milliseconds"))
    return retry_at
