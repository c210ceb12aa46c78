"""The record of each digest run of due jobs (``digest_runs``): when it ran, what it did,
and how it ended, for the overview and /metrics. A week of them is kept.

The functions take the digest's connection and leave the transaction to their caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa

from .models import DigestRun

runs = DigestRun.__table__
RUNS_KEPT_DAYS = 7


class Counts(Protocol):
    """What a run did (a DigestResult)."""

    jobs: int
    succeeded: int
    failed: int
    retrying: int


def record_start(conn: sa.Connection, worker: str, started_at: datetime) -> int:
    """A run begins: its row, whose id ``record_end`` completes."""
    return conn.execute(
        sa.insert(runs).values(worker=worker, started_at=started_at, jobs=0, succeeded=0,
                               failed=0, retrying=0)
    ).inserted_primary_key[0]


def record_end(conn: sa.Connection, run_id: int | None, counts: Counts, error: str | None,
               now: datetime) -> None:
    """A run ends: what it did, and its error if it failed; runs older than a week go."""
    conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
        finished_at=now, jobs=counts.jobs, succeeded=counts.succeeded, failed=counts.failed,
        retrying=counts.retrying, error=error))
    # Enough for the overview, bounded for a --loop worker. Found by a plain read, deleted
    # by key: a DELETE walking the index would lock the rows other digests are ending, and
    # MariaDB's digests ending runs at once deadlocked on them.
    old = conn.scalars(sa.select(runs.c.id).where(
        runs.c.started_at < now - timedelta(days=RUNS_KEPT_DAYS)).limit(1000)).all()
    if old:
        conn.execute(sa.delete(runs).where(runs.c.id.in_(old)))
