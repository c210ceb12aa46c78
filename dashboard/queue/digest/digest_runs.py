"""What a digest run did (``DigestResult``), and its record (``digest_runs``): when it ran,
what it did and how it ended, for the overview and /metrics. A week of them is kept.

The functions take the digest's connection and leave the transaction to their caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ..jobs.models import DigestRun

runs = DigestRun.__table__


@dataclass
class DigestResult:
    """What one digest run did."""

    jobs: int = 0
    succeeded: int = 0
    failed: int = 0
    retrying: int = 0
    #: Jobs this digest had to let go of (its lease was lost, or an operator paused them).
    released: int = 0
    #: Jobs given back because a request's connector was at its limit (not a failure).
    deferred: int = 0
    seconds: float = 0.0
    #: Outcome of each job run, by id: a JobState value, "released" or "deferred".
    outcomes: dict[int, str] = field(default_factory=dict)
    #: Steps that took the general way where PostgreSQL has one statement, by reason
    #: (general_way.Reason); empty elsewhere, and on PostgreSQL when every step had one.
    general_way: dict[str, int] = field(default_factory=dict)

    def add(self, other: DigestResult) -> None:
        """Count in what ``other`` (one job's run, in a thread of its own) did."""
        self.jobs += other.jobs
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.retrying += other.retrying
        self.released += other.released
        self.deferred += other.deferred
        self.outcomes.update(other.outcomes)

    def summary(self) -> str:
        deferred = f", {self.deferred} deferred (connector limits)" if self.deferred else ""
        general = ""
        if self.general_way:
            reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.general_way.items()))
            general = f"; {sum(self.general_way.values())} steps the general way ({reasons})"
        return (
            f"{self.jobs} jobs run, {self.succeeded} requests succeeded, {self.failed} failed, "
            f"{self.retrying} retrying{deferred}, in {self.seconds:.2f}s{general}"
        )


def record_start(conn: sa.Connection, worker: str, started_at: datetime) -> int:
    """A run begins: its row, whose id ``record_end`` completes.

    On PostgreSQL its transaction commits without waiting for the write-ahead log's flush:
    the row is bookkeeping for the Digests page, and a server crash could lose it and
    nothing else (the next commit that waits flushes it too). It is on the way from a
    wake-up to the first request's start, where a flush costs 4-14 ms on a busy disk."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    inserted = conn.execute(
        sa.insert(runs).values(worker=worker, started_at=started_at, jobs=0, succeeded=0,
                               failed=0, retrying=0)
    ).inserted_primary_key
    assert inserted is not None  # an INSERT of one row has its key
    return inserted[0]


def record_end(conn: sa.Connection, run_id: int | None, result: DigestResult, error: str | None,
               now: datetime) -> None:
    """A run ends: what it did, and its error if it failed (old runs are pruned beside the
    rest of the history, retention.prune_history)."""
    conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
        finished_at=now, jobs=result.jobs, succeeded=result.succeeded, failed=result.failed,
        retrying=result.retrying, error=error))
