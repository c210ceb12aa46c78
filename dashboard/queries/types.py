"""Each request type over a recent window: its attempts, how many failed, how long they
ran and how long they waited to start (the 50th and 95th percentiles), for the Types page.

An attempt's wait (its queue latency) is from when it was due (``Attempt.due_at``: its
job's run-at or retry time, or the previous request's end) to its start. Attempts stored
before migration 0024 have no due time and are left out of it: the page says how many
attempts the latency is of.

Percentiles are taken in Python from the attempts themselves, the same on every database:
one walk of the index on ``attempts.finished_at``, newest first, that stops after SCANNED
attempts (a busier window is described by its newest attempts, and the page says since
when), so a page view reads a bounded number of rows whatever the queue's size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.jobs.models import Attempt, Request
from ..queue.jobs.states import Outcome

#: The windows the page offers, by their name in the URL.
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
DEFAULT_WINDOW = "1h"
#: Attempts read at most for one view: the newest of the window.
SCANNED = 10_000

attempts = Attempt.__table__
requests = Request.__table__


def percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of values in ascending order: the smallest value that
    at least ``share`` of them do not exceed (``share`` 0.5: the median). None: no values."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


@dataclass(frozen=True)
class TypeFigures:
    type_code: str
    attempts: int
    failed: int
    #: Seconds an attempt ran, from its start to its end.
    run_p50: float | None
    run_p95: float | None
    #: Seconds an attempt waited, from when it was due to its start; of ``waited`` attempts
    #: (those with a due time).
    latency_p50: float | None = None
    latency_p95: float | None = None
    waited: int = 0

    @property
    def failure_rate(self) -> float | None:
        """Failed attempts over all attempts; None without attempts."""
        return self.failed / self.attempts if self.attempts else None

    @classmethod
    def of(cls, type_code: str, outcomes: list[str], runs: list[float],
           waits: list[float]) -> TypeFigures:
        runs.sort()
        waits.sort()
        return cls(type_code, len(outcomes), sum(o != Outcome.SUCCEEDED for o in outcomes),
                   percentile(runs, 0.5), percentile(runs, 0.95),
                   percentile(waits, 0.5), percentile(waits, 0.95), len(waits))


@dataclass(frozen=True)
class TypesReport:
    window: str
    since: datetime
    types: list[TypeFigures]
    #: The scan stopped at SCANNED attempts: the figures are those of the attempts that
    #: finished from this time on. None: every attempt of the window was read.
    partial_since: datetime | None = None


def by_type(session: Session, now: datetime, window: str,
            codes: Iterable[str] = ()) -> TypesReport:
    """The figures of each type with attempts in the window, and of ``codes`` (the types
    this process knows, the paused ones) with none, by type code."""
    since = now - WINDOWS[window]
    rows = session.execute(
        sa.select(requests.c.type_code, attempts.c.outcome, attempts.c.started_at,
                  attempts.c.finished_at, attempts.c.due_at)
        .join(requests, requests.c.id == attempts.c.request_id)
        .where(attempts.c.finished_at >= since)
        .order_by(attempts.c.finished_at.desc()).limit(SCANNED + 1)).all()
    partial_since = None
    if len(rows) > SCANNED:
        rows = rows[:SCANNED]
        partial_since = rows[-1].finished_at
    outcomes: dict[str, list[str]] = {code: [] for code in codes}
    runs: dict[str, list[float]] = defaultdict(list)
    waits: dict[str, list[float]] = defaultdict(list)
    for code, outcome, started_at, finished_at, due_at in rows:
        outcomes.setdefault(code, []).append(outcome)
        runs[code].append((finished_at - started_at).total_seconds())
        if due_at is not None:
            waits[code].append((started_at - due_at).total_seconds())
    return TypesReport(window, since, [TypeFigures.of(code, outcomes[code], runs[code],
                                                      waits[code])
                                       for code in sorted(outcomes)], partial_since)
