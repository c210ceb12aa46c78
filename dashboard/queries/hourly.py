"""Attempts per hour, by request type and outcome, for the overview's charts.

Counting a week of attempts on every page view would read millions of rows. An hour that
has ended does not change any more, so its counts are computed once and kept in
``attempt_hours``; only the hour under way (and the one just ended, for attempts still
being written) is counted live, through the index on ``attempts.finished_at``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import TABLE_ARGS, Base, UTCDateTime
from ..queue.database import begin_for_write
from ..queue.models import Attempt, Request
from ..queue.states import Outcome

HOUR = timedelta(hours=1)
#: An hour is counted for good this long after it ends (attempts finishing at the very
#: end of an hour are committed a moment later).
SETTLE = timedelta(minutes=5)
#: The row of an hour that holds its totals; it also marks the hour as counted.
ALL_TYPES = "*"
KEEP = timedelta(days=8)


class AttemptHour(Base):
    __tablename__ = "attempt_hours"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    type_code: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    succeeded: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (TABLE_ARGS,)


@dataclass(frozen=True)
class HourCount:
    hour: datetime
    succeeded: int
    failed: int


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class HourlyCounts:
    """Attempts per hour and request type, oldest hour first."""

    per_hour: dict[datetime, dict[str, tuple[int, int]]]

    def totals(self, hours: int | None = None) -> list[HourCount]:
        """Succeeded and failed attempts of each of the last ``hours`` hours."""
        chosen = sorted(self.per_hour)[-hours:] if hours else sorted(self.per_hour)
        return [HourCount(hour, *self.per_hour[hour].get(ALL_TYPES, (0, 0))) for hour in chosen]

    def failing_types(self, hours: int = 24, limit: int = 5) -> list[tuple[str, int, int]]:
        """(type code, failed, succeeded) of the types with most failed attempts."""
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for hour in sorted(self.per_hour)[-hours:]:
            for code, (succeeded, failed) in self.per_hour[hour].items():
                if code != ALL_TYPES:
                    totals[code][0] += failed
                    totals[code][1] += succeeded
        ranked = sorted(((c, f, s) for c, (f, s) in totals.items() if f),
                        key=lambda t: (-t[1], t[0]))
        return ranked[:limit]


def by_hour(session: Session, now: datetime, hours: int) -> HourlyCounts:
    """Attempts of each of the last ``hours`` hours (the current one included)."""
    return HourlyCounts(_counts(session, now, hours))


def _counts(session: Session, now: datetime, hours: int) -> dict[datetime, dict[str, tuple]]:
    current = floor_hour(now)
    window = [current - HOUR * n for n in range(hours - 1, -1, -1)]
    settled = [hour for hour in window if hour + HOUR <= now - SETTLE]
    counts = _stored(session, settled)
    missing = [hour for hour in settled if hour not in counts]
    if missing:
        computed = {hour: _count_hour(session, hour) for hour in missing}
        _store(session, computed, now)
        counts.update(computed)
    for hour in window:
        if hour not in counts:
            counts[hour] = _count_hour(session, hour)
    session.commit()
    return counts


def _stored(session: Session, hours: list[datetime]) -> dict[datetime, dict[str, tuple]]:
    if not hours:
        return {}
    found: dict[datetime, dict[str, tuple]] = {}
    rows = session.execute(sa.select(AttemptHour.hour, AttemptHour.type_code,
                                     AttemptHour.succeeded, AttemptHour.failed)
                           .where(AttemptHour.hour >= hours[0], AttemptHour.hour <= hours[-1]))
    for hour, code, succeeded, failed in rows:
        found.setdefault(hour, {})[code] = (succeeded, failed)
    return {hour: per_type for hour, per_type in found.items() if ALL_TYPES in per_type}


def _count_hour(session: Session, hour: datetime) -> dict[str, tuple]:
    attempts, requests = Attempt.__table__, Request.__table__
    rows = session.execute(
        sa.select(requests.c.type_code, attempts.c.outcome, sa.func.count())
        .join(requests, requests.c.id == attempts.c.request_id)
        .where(attempts.c.finished_at >= hour, attempts.c.finished_at < hour + HOUR)
        .group_by(requests.c.type_code, attempts.c.outcome)
    )
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, outcome, count in rows:
        slot = 0 if outcome == Outcome.SUCCEEDED else 1
        per_type[code][slot] += count
        per_type[ALL_TYPES][slot] += count
    per_type.setdefault(ALL_TYPES, [0, 0])
    return {code: tuple(pair) for code, pair in per_type.items()}


def _store(session: Session, computed: dict[datetime, dict[str, tuple]], now: datetime) -> None:
    rows = [{"hour": hour, "type_code": code, "succeeded": s, "failed": f}
            for hour, per_type in computed.items() for code, (s, f) in per_type.items()]
    # Written in a transaction of its own, with SQLite's write lock taken up front: the
    # page's read began a plain one, whose first write would fail while the digest writes.
    session.commit()
    begin_for_write(session)
    try:
        session.execute(sa.delete(AttemptHour).where(AttemptHour.hour < now - KEEP))
        session.execute(sa.insert(AttemptHour), rows)
        session.commit()
    except IntegrityError:
        # Another worker counted the same hours at the same moment: theirs are as good.
        session.rollback()
