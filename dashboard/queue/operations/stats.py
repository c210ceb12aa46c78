"""Attempts counted by request type and outcome: over a window for the metrics, per
settled hour for the overview's charts, whose counts are kept in ``attempt_hours``.

The counts of jobs, the oldest due job and the last digest run are read in one place,
``dashboard.queries.overview``, by the overview, the metrics and the health check alike.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jobs.models import Attempt, AttemptHour, Request

requests = Request.__table__
attempts = Attempt.__table__


def attempts_by_type(session: Session, *, since: datetime, until: datetime | None = None
                     ) -> dict[tuple[str, str], int]:
    """Attempts finished at or after ``since`` (and before ``until``), by (type code,
    outcome): one range of the index on ``attempts.finished_at``."""
    query = (
        sa.select(requests.c.type_code, attempts.c.outcome, sa.func.count())
        .select_from(attempts.join(requests, requests.c.id == attempts.c.request_id))
        .where(attempts.c.finished_at >= since)
        .group_by(requests.c.type_code, attempts.c.outcome)
    )
    if until is not None:
        query = query.where(attempts.c.finished_at < until)
    return {(type_code, str(outcome)): count for type_code, outcome, count
            in session.execute(query)}


def keep_hours(session: Session, counted: dict[datetime, dict[str, tuple[int, int]]]) -> None:
    """Add the counts of settled hours, {hour: {type code: (succeeded, failed)}}, to
    ``attempt_hours``, in the session's transaction. IntegrityError when another process
    kept one of the hours meanwhile: its counts are as good, the caller rolls back."""
    rows = [{"hour": hour, "type_code": code, "succeeded": succeeded, "failed": failed}
            for hour, per_type in counted.items()
            for code, (succeeded, failed) in per_type.items()]
    if rows:
        session.execute(sa.insert(AttemptHour), rows)
