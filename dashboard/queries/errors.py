"""Why jobs fail: failing jobs grouped by their reason, numbers and ids set aside.

"HTTP 410 Gone for order 81723" and "... order 81724" are one error to an operator. The
reason's first line is normalised (``normalise``) and grouped; the job list's ``error``
filter finds the jobs of a group again with a LIKE pattern (``matches``), so the list, its
bulk actions and the API share it on every database.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.engine_setup import is_postgresql
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


def newest_failing(session: Session, state: JobState,
                   scanned: int) -> tuple[Sequence[sa.Row], bool]:
    """The newest ``scanned`` jobs of ``state`` (ix_jobs_state_id) with their failing
    requests (by key), in one statement: a row per failing request, newest job first, a
    job's first request first (a job without one: a row of NULLs); and whether there were
    more jobs.

    The ids stay in the database (a derived table, not an IN list: MariaDB takes no LIMIT
    in an IN subquery): thousands of them sent back as bound values cost the overview
    more than reading their requests. The one job past ``scanned`` is read only to tell
    that there were more."""
    newest = (sa.select(jobs.c.id).where(jobs.c.state == state)
              .order_by(jobs.c.id.desc()).limit(scanned + 1).subquery("newest"))
    failing = sa.and_(requests.c.job_id == newest.c.id, requests.c.state.in_(FAILING_REQUESTS))
    source: sa.FromClause = requests
    joined = newest.outerjoin(requests, failing)
    if is_postgresql(session.get_bind()):
        # Job by job, by key (LATERAL; OFFSET 0 keeps it so): joined as one set, the
        # planner hashed the jobs against a scan of every request.
        source = sa.select(requests).where(failing).offset(0).lateral("failing")
        joined = newest.outerjoin(source, sa.true())
    rows = session.execute(
        sa.select(newest.c.id.label("job_id"), source.c.id.label("request_id"),
                  source.c.last_error, source.c.type_code, source.c.attempts,
                  # As stored: no enum, nor aware time, made per row of thousands (the
                  # groups' times are made aware once, at the end).
                  sa.type_coerce(source.c.updated_at, sa.DateTime).label("updated_at"),
                  sa.type_coerce(source.c.state, sa.String).label("state"))
        .select_from(joined)
        .order_by(newest.c.id.desc(), source.c.position)).all()
    if len({row[0] for row in rows}) <= scanned:
        return rows, False
    oldest = rows[-1][0]
    return [row for row in rows if row[0] != oldest], True


def top_errors(session: Session, *, scanned: int = SCANNED, shown: int = SHOWN) -> TopErrors:
    """Failed and retrying jobs grouped by normalised reason, most jobs first.

    Bounded: the newest ``scanned`` jobs of each state, read with their failing requests in
    one statement a state (``newest_failing``)."""
    groups: dict[str, list] = {}
    seen: set[int] = set()
    is_permanent = judge()
    partial = False
    for state in FAILING_JOBS:
        rows, more = newest_failing(session, state, scanned)
        partial = partial or more
        # Unpacked: a Row's attributes by name cost more than the rest of the loop.
        for job_id, request_id, error, type_code, attempts, updated_at, request_state in rows:
            # One failing request per job, the first if more; none: nothing to group.
            if request_id is None or job_id in seen:
                continue
            seen.add(job_id)
            group = groups.setdefault(normalise(error), [0, updated_at, updated_at, 0])
            group[0] += 1
            group[3] += is_permanent(type_code, request_state, attempts)
            if updated_at < group[1]:
                group[1] = updated_at
            elif updated_at > group[2]:
                group[2] = updated_at
    ranked = sorted(groups.items(), key=lambda item: (item[1][0], item[1][2]), reverse=True)
    return TopErrors([ErrorGroup(reason, count, first.replace(tzinfo=UTC),
                                 last.replace(tzinfo=UTC), permanent)
                      for reason, (count, first, last, permanent) in ranked[:shown]],
                     partial)
