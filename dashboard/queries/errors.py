"""Why jobs fail: failing jobs grouped by their reason, numbers and ids set aside.

"HTTP 410 Gone for order 81723" and "... order 81724" are one error to an operator. The
reason's first line is normalised (``normalise``) and grouped; the job list's ``error``
filter finds the jobs of a group again with a LIKE pattern (``matches``), so the list, its
bulk actions and the API share it on every database.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.models import Job, Request
from ..queue.states import JobState, RequestState
from .filters import MAX_ERROR_LENGTH
from .permanence import judge

jobs = Job.__table__
requests = Request.__table__

#: Stands for a number or an id in a normalised reason.
PLACEHOLDER = "#"
#: UUIDs, long hexadecimal ids (with a digit), then any run of digits.
_VARYING = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"
    r"|\d+", re.IGNORECASE)
#: Failing jobs read by the Top errors panel, at most: the newest of each state.
SCANNED = 2_000
#: Groups shown.
SHOWN = 10
FAILING_JOBS = (JobState.FAILED, JobState.RETRYING)
FAILING_REQUESTS = (RequestState.FAILED, RequestState.RETRYING)


@functools.lru_cache(maxsize=2 * SCANNED)
def normalise(reason: str | None) -> str:
    """The first line of a reason, numbers and ids replaced by PLACEHOLDER, spaces folded.

    Kept for the reasons last seen: the overview's polls read the same ones again."""
    text = (reason or "").strip()
    line = text.splitlines()[0] if text else ""
    line = _VARYING.sub(PLACEHOLDER, " ".join(line.split()))
    return line[:MAX_ERROR_LENGTH]


def matches(normalised: str) -> sa.ColumnElement[bool]:
    """A failing request of the job has a reason that normalises to ``normalised`` (or
    starts so: a placeholder matches any text, a cut reason any end)."""
    escaped = (normalised.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
    pattern = escaped.replace(PLACEHOLDER, "%") + "%"
    return sa.exists().where(
        requests.c.job_id == jobs.c.id,
        requests.c.state.in_(FAILING_REQUESTS),
        requests.c.last_error.like(pattern, escape="\\"),
    )


@dataclass(frozen=True)
class ErrorGroup:
    reason: str
    #: Failing jobs with this reason.
    jobs: int
    #: When the oldest and the newest of them failed.
    first_seen: datetime
    last_seen: datetime
    #: Of them, those that failed for good at once (see permanence.py): a retry of the
    #: group fails them again.
    permanent: int = 0


@dataclass(frozen=True)
class TopErrors:
    groups: list[ErrorGroup]
    #: True: more failing jobs than were read (SCANNED of each state); the counts are of
    #: the newest ones.
    partial: bool


def top_errors(session: Session, *, scanned: int = SCANNED, shown: int = SHOWN) -> TopErrors:
    """Failed and retrying jobs grouped by normalised reason, most jobs first.

    Bounded: the newest ``scanned`` jobs of each state (ix_jobs_state_id), their failing
    requests by key."""
    ids: list[int] = []
    partial = False
    for state in FAILING_JOBS:
        found = session.scalars(sa.select(jobs.c.id).where(jobs.c.state == state)
                                .order_by(jobs.c.id.desc()).limit(scanned + 1)).all()
        partial = partial or len(found) > scanned
        ids.extend(found[:scanned])
    groups: dict[str, list] = {}
    seen: set[int] = set()
    is_permanent = judge()
    for chunk in range(0, len(ids), 500):
        for row in session.execute(
            sa.select(requests.c.job_id, requests.c.last_error, requests.c.updated_at,
                      requests.c.type_code, requests.c.attempts,
                      # The state as stored text: no enum made per row of thousands.
                      sa.type_coerce(requests.c.state, sa.String).label("state"))
            .where(requests.c.job_id.in_(ids[chunk:chunk + 500]),
                   requests.c.state.in_(FAILING_REQUESTS))
            .order_by(requests.c.job_id, requests.c.position)
        ):
            if row.job_id in seen:  # one failing request per job; the first if more
                continue
            seen.add(row.job_id)
            group = groups.setdefault(normalise(row.last_error), [0, row.updated_at,
                                                                   row.updated_at, 0])
            group[0] += 1
            group[3] += is_permanent(row.type_code, row.state, row.attempts)
            group[1] = min(group[1], row.updated_at)
            group[2] = max(group[2], row.updated_at)
    ranked = sorted(groups.items(), key=lambda item: (-item[1][0], -item[1][2].timestamp()))
    return TopErrors([ErrorGroup(reason, *figures) for reason, figures in ranked[:shown]],
                     partial)
