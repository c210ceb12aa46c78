"""Claims and leases: how a digest takes a job so that no other digest runs it too.

A claim writes ``locked_by`` (this digest) and ``locked_until`` (the lease's end) in a
short transaction that commits before any request runs. Every later change a digest
makes to the job is guarded by ``locked_by``, so a digest that lost its lease cannot
overwrite the work of the one that took over.

The functions take a Core connection (the digest keeps one for its whole run) and leave
the transaction to their caller, unless they say otherwise.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jobs.models import Attempt, Job, Request
from ..jobs.states import DUE_STATES, JobState, RequestState
from .due_jobs import SQLITE_DUE, claim_order, due, free, holds_back, unblocked
from .pauses import held, holding

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__


def new_worker_id() -> str:
    """host:pid:random, unique per digest run."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Lease:
    worker: str
    seconds: float

    def until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.seconds)


def claim_due(
    conn: sa.Connection, lease: Lease, *, due_by: datetime, now: datetime, limit: int
) -> list[int]:
    """Claim up to ``limit`` due, unblocked jobs, higher priority first, then oldest first
    (``claim_order``); returns their ids.

    ``due_by`` is the start of the digest run, so that a request that failed during
    this run is not retried before the next one. The caller commits. SQLite and
    MariaDB (PostgreSQL claims in one statement: see ``postgresql.CLAIM_AND_LOAD``). On
    SQLite, where there are no row locks, the connection must begin IMMEDIATE (see
    write_lock.py): the claim then holds the database's write lock from its read to its
    update.
    """
    if conn.dialect.name in ("mysql", "mariadb"):
        ids = _lock_due_by_key(conn, due_by=due_by, now=now, limit=limit)
    else:
        ids = list(conn.scalars(SQLITE_DUE, {"due_by": due_by, "now": now, "limit": limit}))
    if ids:
        # By key alone. The rows are still due: InnoDB holds their locks, SQLite its write
        # lock since the read. Asked again whether they are due, InnoDB walked an index
        # through other jobs' rows, locking them, and SQLite, without ANALYZE, read every
        # due job through ix_jobs_state_next_attempt.
        result = conn.execute(sa.update(jobs).where(jobs.c.id.in_(ids)).values(
            locked_by=lease.worker, locked_until=lease.until(now)))
        if result.rowcount != len(ids):
            raise RuntimeError("claimed jobs changed under their lock")
    return ids


def _lock_due_by_key(
    conn: sa.Connection, *, due_by: datetime, now: datetime, limit: int
) -> list[int]:
    """MariaDB and MySQL: lock due jobs through their primary key only.

    An InnoDB locking read locks every index record it walks, the blocker subquery's
    included, and SKIP LOCKED skips earlier jobs held by others as if they did not exist.
    Those locks on other digests' running jobs made the claim and their outcome writes
    deadlock. So candidates come from a plain read, in ``claim_order``, and only they are
    locked, by key (forced: with few due jobs left the optimizer would rather walk another
    index), a batch's worth at a time, so that the batch is the first ones free.
    A job unblocked stays unblocked (an earlier job never becomes unfinished again).
    """
    for _ in range(3):
        candidates = _mysql_candidates(conn, due_by=due_by, now=now, limit=limit * 4)
        if not candidates:
            return []
        locked: set[int] = set()
        rest = candidates
        while rest and len(locked) < limit:
            chunk, rest = rest[:limit - len(locked)], rest[limit - len(locked):]
            locked.update(conn.scalars(
                sa.select(jobs.c.id)
                .with_hint(jobs, "FORCE INDEX (PRIMARY)", "mysql")
                .with_hint(jobs, "FORCE INDEX (PRIMARY)", "mariadb")
                .where(jobs.c.id.in_(chunk), due(due_by, now))
                .order_by(jobs.c.id)
                .with_for_update(skip_locked=True)
            ))
        if locked:
            return [job_id for job_id in candidates if job_id in locked]
        # Every candidate was taken meanwhile: others are claiming; read again.
    return []


def _mysql_candidates(
    conn: sa.Connection, *, due_by: datetime, now: datetime, limit: int
) -> list[int]:
    """Due, unblocked jobs in ``claim_order``, read plainly.

    InnoDB has no partial index like ``ix_jobs_due``: one query over both due states
    would sort every due job at each claim, and walk every finished job before them. So
    each due state is read on its own, stopping at ``limit``: pending jobs in
    ``ix_jobs_due_by_state`` order (state, priority DESC, created_at, id; migration 0010),
    retrying ones through their retry time. A job without a relation is never blocked:
    the blocker's subquery is only asked about the others (``due_jobs.unblocked``).
    """
    found: list[sa.Row] = []
    for state in DUE_STATES:
        query = (
            sa.select(jobs.c.id, jobs.c.priority, jobs.c.created_at)
            .where(jobs.c.state == state, jobs.c.next_attempt_at <= due_by, free(now),
                   unblocked(jobs), ~held(jobs))
            .order_by(*claim_order(jobs))
            .limit(limit)
        )
        if state == JobState.PENDING:
            for dialect in ("mysql", "mariadb"):
                query = query.with_hint(jobs, "FORCE INDEX (ix_jobs_due_by_state)", dialect)
        found += conn.execute(query)
    found.sort(key=lambda row: (-row.priority, row.created_at, row.id))
    return [row.id for row in found[:limit]]


class NotRunnable(Exception):
    """The job can't be run now; the message says why."""


def claim_one(conn: sa.Connection, lease: Lease, job_id: int, *, now: datetime) -> None:
    """Claim one job to run it at once, whatever its retry delay; NotRunnable if it can't.
    The caller commits (or rolls back on NotRunnable)."""
    row = conn.execute(
        sa.select(jobs.c.state, jobs.c.locked_by, jobs.c.locked_until).where(jobs.c.id == job_id)
    ).one_or_none()
    if row is None:
        raise NotRunnable(f"job {job_id} does not exist")
    if row.locked_until is not None and row.locked_until >= now:
        raise NotRunnable(
            f"job {job_id} is held by digest {row.locked_by} until "
            f"{row.locked_until:%Y-%m-%d %H:%M:%S} UTC"
        )
    if row.state not in DUE_STATES:
        raise NotRunnable(f"job {job_id} is {row.state}; only pending or retrying jobs run")
    blocking = blocking_job(conn, job_id)
    if blocking is not None:
        raise NotRunnable(
            f"job {job_id} is blocked by job #{blocking}, an earlier unfinished job "
            "of the same relation"
        )
    paused = paused_type_of(conn, job_id)
    if paused is not None:
        raise NotRunnable(f"job {job_id} has a request of the paused type {paused!r}; "
                          "resume the type first")
    result = conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state.in_(DUE_STATES), free(now))
        .values(locked_by=lease.worker, locked_until=lease.until(now))
    )
    if result.rowcount != 1:
        raise NotRunnable(f"job {job_id} was just taken by another digest")


def paused_type_of(db: sa.Connection | Session, job_id: int) -> str | None:
    """The paused type of a request of this job still to run, if one is paused."""
    return holding(db, [job_id]).get(job_id)


def blocking_job(db: sa.Connection | Session, job_id: int) -> int | None:
    """The id of the earliest unfinished job of the same relation that holds this one back."""
    job = jobs.alias("job")
    earlier = jobs.alias("earlier")
    return db.scalar(
        sa.select(earlier.c.id)
        .select_from(earlier)
        .join(job, sa.and_(*holds_back(earlier, job)))
        .where(job.c.id == job_id)
        .order_by(earlier.c.id)
        .limit(1)
    )


def expired_jobs(conn: sa.Connection, *, now: datetime, limit: int) -> list[int]:
    """Jobs left running by a digest whose lease ran out (it crashed or was killed).
    Through ix_jobs_state_id: running jobs are few (no index on locked_until, which the
    claims and the heartbeat rewrite; see migration 0005)."""
    return list(conn.scalars(
        sa.select(jobs.c.id)
        .where(jobs.c.state == JobState.RUNNING, jobs.c.locked_until < now)
        .order_by(jobs.c.id)
        .limit(limit)
    ))


def take_expired(conn: sa.Connection, lease: Lease, job_id: int, *, now: datetime) -> bool:
    """Take over one expired job. False when another digest was first."""
    result = conn.execute(
        sa.update(jobs)
        .where(
            jobs.c.id == job_id, jobs.c.state == JobState.RUNNING, jobs.c.locked_until < now
        )
        .values(locked_by=lease.worker, locked_until=lease.until(now))
    )
    return result.rowcount == 1


def renew(connection: sa.Connection, lease: Lease, job_ids: list[int], *, now: datetime) -> int:
    """Push the lease of the jobs this digest holds; returns how many it still holds.

    Not a cancelled job's: its call, if one still runs, keeps the job from nothing, and its
    late outcome is written as an attempt that moves the job nowhere. A paused job keeps its
    lease while its call runs, so that resuming it can't start a second call beside it."""
    if not job_ids:
        return 0
    result = connection.execute(
        sa.update(jobs)
        .where(jobs.c.id.in_(job_ids), jobs.c.locked_by == lease.worker,
               jobs.c.state != JobState.CANCELLED)
        .values(locked_until=lease.until(now))
    )
    return result.rowcount


def release(conn: sa.Connection, lease: Lease, job_ids: list[int], *, now: datetime) -> None:
    """Give back jobs this digest holds but won't finish; a running job becomes due again.

    A job whose request is marked running keeps its lease: whether that request's outcome
    was written is unknown (the database failed), so it is left to expire and be taken
    over with an interrupted attempt.
    """
    if not job_ids:
        return
    retrying = sa.exists().where(
        requests.c.job_id == jobs.c.id, requests.c.state == RequestState.RETRYING
    )
    in_flight = sa.exists().where(
        requests.c.job_id == jobs.c.id, requests.c.state == RequestState.RUNNING
    )
    conn.execute(
        sa.update(jobs)
        .where(jobs.c.id.in_(job_ids), jobs.c.locked_by == lease.worker, ~in_flight)
        .values(
            locked_by=None,
            locked_until=None,
            updated_at=now,
            state=sa.case(
                (
                    jobs.c.state == JobState.RUNNING,
                    sa.case((retrying, JobState.RETRYING.value), else_=JobState.PENDING.value),
                ),
                else_=jobs.c.state,
            ),
        )
    )


LAST_NUMBER = (
    sa.select(sa.func.max(attempts.c.number))
    .where(attempts.c.request_id == requests.c.id)
    .scalar_subquery()
    .label("last_number")
)


#: What the digest reads of a request.
REQUEST_COLUMNS = (requests.c.job_id, requests.c.id, requests.c.position, requests.c.type_code,
            requests.c.payload, requests.c.state, requests.c.attempts, requests.c.result,
            requests.c.updated_at, LAST_NUMBER)


def job_due_at(held: sa.FromClause) -> sa.Label:
    """When the job in ``held`` was due as claimed: its run-at or retry time, else its
    creation (the due time of its first request to run, see ``Attempt.due_at``)."""
    return sa.func.coalesce(held.c.next_attempt_at, held.c.created_at).label("job_due_at")


def requests_of(held: sa.TableClause) -> sa.Select:
    """The requests of the jobs in ``held`` (the jobs table, or the claim's CTE), with their
    last attempt's number and what the digest needs of their job."""
    return (
        sa.select(*REQUEST_COLUMNS, held.c.relation_id, held.c.source_id, held.c.store_id,
                  job_due_at(held))
        .join(held, held.c.id == requests.c.job_id)
    )


#: The requests of claimed jobs (by their ids), in order.
LOAD = (
    requests_of(jobs)
    .where(requests.c.job_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(requests.c.job_id, requests.c.position)
)
