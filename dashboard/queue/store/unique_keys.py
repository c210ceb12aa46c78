"""Saving jobs with unique keys: at most one active job (any state but completed or
cancelled) per key within a source (``source_id``), however many processes save the key at
once. A key is the source's own: another source's job of the same key neither blocks the
save nor is ever answered for it.

The unique index over active jobs decides (migrations 0010, 0018), not a read before the
insert: of two saves of one key at once both insert, the second waits for the first's
transaction and then fails on the index, in a savepoint, and reads the job that holds the
key, committed by then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..jobs.models import Job
from ..jobs.states import JobState

jobs = Job.__table__
INSERT_JOB = sa.insert(jobs).returning(jobs.c.id)
#: The states in which a job no longer holds its unique key.
KEY_RELEASED = (JobState.COMPLETED, JobState.CANCELLED)
#: Up to this many tries to insert a job whose key's holder keeps finishing meanwhile.
KEY_TRIES = 5


def insert_jobs(session: Session, rows: list[dict[str, Any]],
                now: datetime) -> tuple[list[int], dict[int, int]]:
    """The jobs' rows (their ``dialect.job_row()``) one at a time, in order (ids ascend
    as the jobs come), in the session's transaction, which the caller commits. Returns
    the ids (for a duplicate, its holder's) and {position of a duplicate: its holder's
    id}. A key taken by an earlier job of the same call and source makes a duplicate of
    that job. The caller began the transaction as a write (``write_lock.begin_for_write``)."""
    holders: dict[tuple[str, str], int] = {}
    job_ids: list[int] = []
    duplicates: dict[int, int] = {}
    for n, job_row in enumerate(rows):
        row = {**job_row, "created_at": now, "updated_at": now}
        if row["unique_key"] is None:
            job_ids.append(session.connection().scalar(INSERT_JOB, row))
            continue
        key = (row["source_id"], row["unique_key"])
        if key in holders:
            duplicate = True
        else:
            holders[key], duplicate = _insert_unless_held(session, row)
        if duplicate:
            duplicates[n] = holders[key]
        job_ids.append(holders[key])
    return job_ids, duplicates


def _insert_unless_held(session: Session, row: dict) -> tuple[int, bool]:
    """Insert the job row, its key free: (its id, False). When an active job of its
    source holds the key: (that job's id, True). Should the holder finish between the
    failed insert and the read, the key is free: the insert is tried again."""
    for tries_left in reversed(range(KEY_TRIES)):
        try:
            with session.begin_nested():
                return session.connection().scalar(INSERT_JOB, row), False
        except sa.exc.IntegrityError:
            holder = session.connection().scalar(
                sa.select(jobs.c.id).where(jobs.c.source_id == row["source_id"],
                                           jobs.c.unique_key == row["unique_key"],
                                           jobs.c.state.not_in(KEY_RELEASED)))
            if holder is not None:
                return holder, True
            if not tries_left:
                raise
    raise AssertionError("unreachable")


def stand_for_holders(session: Session, duplicates: dict[Job, int]) -> None:
    """Each duplicate becomes a detached copy of the job that holds its key: its id,
    columns and requests, as stored (the session may hold that job already, so the
    duplicate can't join it)."""
    holders = {job.id: job for job in session.scalars(
        sa.select(Job).where(Job.id.in_(set(duplicates.values())))
        .options(selectinload(Job.requests))
        .execution_options(populate_existing=True))}
    session.commit()
    for job, holder_id in duplicates.items():
        holder = holders[holder_id]
        for column in Job.__mapper__.column_attrs:
            set_committed_value(job, column.key, getattr(holder, column.key))
        set_committed_value(job, "requests", list(holder.requests))
        make_transient_to_detached(job)
        job.duplicate = True
