"""Attempts per hour, by request type and outcome, for the overview's charts.

Counting a week of attempts on every page view would read millions of rows. An hour that
has ended does not change any more, so its counts are computed once and kept in
``attempt_hours``; only the hour under way (and the one just ended, for attempts still
being written) is counted live, through the index on ``attempts.finished_at``. This
module only reads: the caller keeps the hours it counted (``HourlyCounts.to_keep``, with
``queue.operations.stats.keep_hours``), and ``queue.operations.retention.prune_history``
forgets old ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.jobs.models import AttemptHour
from ..queue.jobs.states import Outcome
from ..queue.operations.stats import attempts_by_type

HOUR = timedelta(hours=1)
#: An hour is counted for good this long after it ends (attempts finishing at the very
#: end of an hour are committed a moment later).
SETTLE = timedelta(minutes=5)
#: The row of an hour that holds its totals; it also marks the hour as counted.
ALL_TYPES = "*"


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
    #: Settled hours counted from the attempts now, for the caller to keep.
    to_keep: dict[datetime, dict[str, tuple[int, int]]] = field(default_factory=dict)

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
    current = floor_hour(now)
    window = [current - HOUR * n for n in range(hours - 1, -1, -1)]
    settled = [hour for hour in window if hour + HOUR <= now - SETTLE]
    counts = _stored(session, settled)
    to_keep = {hour: _count_hour(session, hour) for hour in settled if hour not in counts}
    counts.update(to_keep)
    for hour in window:
        if hour not in counts:
            counts[hour] = _count_hour(session, hour)
    return HourlyCounts(counts, to_keep)


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
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (code, outcome), count in attempts_by_type(session, since=hour,
                                                   until=hour + HOUR).items():
        slot = 0 if outcome == Outcome.SUCCEEDED else 1
        per_type[code][slot] += count
        per_type[ALL_TYPES][slot] += count
    per_type.setdefault(ALL_TYPES, [0, 0])
    return {code: tuple(pair) for code, pair in per_type.items()}
