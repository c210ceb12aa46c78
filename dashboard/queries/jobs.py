"""The job list: jobs matching a filter, in one of the orders of ``ordering``, a page
at a time.

Pages are cut by a keyset cursor (``before``: the last id of the previous page, or the
last row's sort key and id), never by OFFSET, and nothing counts the whole table: a page
costs the same on the first page and the thousandth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import AuditJob
from ..queue.jobs.masking import hide
from ..queue.jobs.models import Attempt, Job, Request
from ..queue.jobs.settings import clock, current
from ..queue.jobs.states import DUE_STATES, JobState, RequestState
from ..queue.jobs.types import registry
from ..queue.store import pauses
from ..queue.store.due_jobs import holds_back
from ..queue.store.per_job import rows_of_jobs
from . import errors, waiting
from .filters import BadFilter, JobFilter, ShownState
from .ordering import SORTS, Cursor, Sort, capped_count, counted, ordered
from .permanence import judge

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__

PAGE_SIZE = 50
#: Jobs that may be blocked by an earlier job of their relation.
WAITING_STATES = (*DUE_STATES, JobState.PAUSED)
#: Columns of the page's statement that are no field of a row.
LEFT_OUT = ("finished_at", "matching")
#: Characters of a failure reason the list shows, at most.
REASON_SHOWN = 2_000


@dataclass(frozen=True)
class JobRow:
    id: int
    relation_id: str | None
    store_id: int | None
    source_id: str
    state: JobState
    created_at: datetime
    next_attempt_at: datetime | None
    priority: int
    type_codes: list[str]
    attempts: int
    #: The failure reason of the job's failing request (else of the last request that
    #: failed once), whole up to REASON_SHOWN characters, secrets masked as stored.
    last_error: str | None
    #: When the failing request failed (its latest attempt); None unless failing.
    failed_at: datetime | None = None
    #: The earlier unfinished job of its relation that holds this waiting job back.
    blocked_by: int | None = None
    #: The paused request type that holds this waiting job back.
    paused_type: str | None = None
    #: Its failing request failed for good at once (see permanence.py).
    permanent: bool = False

    @property
    def failing(self) -> bool:
        """Failed or retrying: what the list marks red."""
        return self.state in (JobState.FAILED, JobState.RETRYING)

    @property
    def shown_state(self) -> JobState | ShownState:
        return shown_state(self.state, self.next_attempt_at)


def shown_state(state: JobState, next_attempt_at: datetime | None,
                now: datetime | None = None) -> JobState | ShownState:
    """The state the dashboard shows: "scheduled" for a pending job whose time is ahead."""
    if state == JobState.PENDING and next_attempt_at is not None \
            and next_attempt_at > (now or clock()):
        return ShownState.SCHEDULED
    return state


@dataclass(frozen=True)
class JobPage:
    rows: list[JobRow]
    #: ``before`` for the next (older) page; None on the last page.
    next_before: int | None
    #: Where the next page starts, in the page's sort order; None on the last page.
    next_cursor: Cursor | None = None
    #: With ``count_cap``: how many jobs match the filter (any page), up to cap + 1.
    matching: int | None = None


def conditions(found: JobFilter, now: datetime | None = None) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a filter, on the ``jobs`` table; ``waiting`` is read at ``now``
    (default: the queue's clock)."""
    where: list[sa.ColumnElement[bool]] = []
    if found.waiting is not None:
        where.append(waiting.CONDITIONS[found.waiting](now or clock()))
    if found.error is not None:
        where.append(errors.matches(found.error))
    if found.audit_entry is not None:
        where.append(jobs.c.id.in_(sa.select(AuditJob.job_id)
                                   .where(AuditJob.entry_id == found.audit_entry)))
    if found.state == ShownState.SCHEDULED:
        where += [jobs.c.state == JobState.PENDING, jobs.c.next_attempt_at > (now or clock())]
    elif found.state is not None:
        where.append(jobs.c.state == found.state)
    if found.priority is not None:
        where.append(jobs.c.priority == found.priority)
    if found.relation_id is not None:
        where.append(jobs.c.relation_id == found.relation_id)
    if found.store_id is not None:
        where.append(jobs.c.store_id == found.store_id)
    if found.source_id is not None:
        where.append(jobs.c.source_id == found.source_id)
    if found.schedule_name is not None:
        where.append(jobs.c.schedule_name == found.schedule_name)
    if found.sources is not None:
        where.append(jobs.c.source_id.in_(found.sources))
    if found.created_from is not None:
        where.append(jobs.c.created_at >= found.created_from)
    if found.created_to is not None:
        where.append(jobs.c.created_at < found.created_to)
    if found.type_code is not None:
        where.append(sa.exists().where(
            requests.c.job_id == jobs.c.id, requests.c.type_code == found.type_code))
    if found.search is not None:
        # ILIKE on PostgreSQL (served by trigram indexes); lower() LIKE lower() elsewhere.
        # The payload's search copy and the stored errors have their secrets masked: a
        # search never matches inside one, so it can't be guessed a character at a time.
        where.append(sa.exists().where(
            requests.c.job_id == jobs.c.id,
            sa.or_(requests.c.payload_search.icontains(found.search, autoescape=True),
                   requests.c.last_error.icontains(found.search, autoescape=True)),
        ))
    return where


def check_filter(session: Session, found: JobFilter) -> None:
    """Refuse a type code that no request type defines and no stored request has."""
    code = found.type_code
    if code is None or code in registry:
        return
    if session.scalar(sa.select(requests.c.id).where(requests.c.type_code == code).limit(1)):
        return
    raise BadFilter("type", code, "no request type has this code")


def list_jobs(session: Session, found: JobFilter, *, before: int | None = None,
              limit: int = PAGE_SIZE, sort: Sort = SORTS["created"],
              cursor: Cursor | None = None, seen: int | None = None,
              count_cap: int | None = None) -> JobPage:
    """A page of jobs; ``seen`` (the newest id the reader has) leaves out newer jobs, so
    that rows arriving while an operator reads don't push the page down.

    With ``count_cap``, the page's statement also counts the jobs matching the filter
    in the sort's scope (every page's, up to ``count_cap + 1``): one statement, so that
    what both ask of the whole set (the relation rule of ``waiting``'s due and blocked,
    a CTE there) is computed once; a count of its own only when the page is empty."""
    where = conditions(found)
    query = (
        sa.select(jobs.c.id, jobs.c.relation_id, jobs.c.store_id, jobs.c.source_id,
                  jobs.c.state, jobs.c.created_at, jobs.c.next_attempt_at, jobs.c.finished_at,
                  jobs.c.priority)
        .where(*where)
        .limit(limit + 1)
    )
    if count_cap is not None:
        query = query.add_columns(counted([*where, *sort.scope], count_cap)
                                     .scalar_subquery().label("matching"))
    if before is not None:
        cursor = Cursor(None, before)
    if seen is not None:
        query = query.where(jobs.c.id <= seen)
    found_rows = session.execute(ordered(query, sort, cursor)).all()
    matching = None
    if count_cap is not None:
        matching = (found_rows[0].matching if found_rows
                    else capped_count(session, [*where, *sort.scope], count_cap))
    more = len(found_rows) > limit
    found_rows = found_rows[:limit]
    ids = [row.id for row in found_rows]
    permanent: set[int] = set()
    details = _request_details(session, ids, permanent)
    counts = _attempt_counts(session, ids)
    _hide_secrets(session, details)
    blockers = _blockers(session, [row.id for row in found_rows if row.relation_id is not None
                                   and row.state in WAITING_STATES])
    held = pauses.holding(session, [row.id for row in found_rows if row.state in DUE_STATES])
    rows = [
        JobRow(**{k: v for k, v in row._mapping.items() if k not in LEFT_OUT},
               type_codes=details[row.id][0], attempts=counts.get(row.id, 0),
               last_error=details[row.id][1], failed_at=details[row.id][2],
               blocked_by=blockers.get(row.id), permanent=row.id in permanent,
               paused_type=held.get(row.id))
        for row in found_rows
    ]
    if not more:
        return JobPage(rows, None, matching=matching)
    last = found_rows[-1]
    at = None if sort.key is None else getattr(last, sort.key.name)
    return JobPage(rows, last.id if sort.key is None else None, Cursor(at, last.id),
                   matching)


def list_query(found: JobFilter, *, before: int | None = None,
               limit: int = PAGE_SIZE, sort: Sort = SORTS["created"],
               cursor: Cursor | None = None, now: datetime | None = None) -> sa.Select:
    """The list's main query, for EXPLAIN in the benchmark and the query-plan tests
    (``waiting`` read at ``now``, default the queue's clock)."""
    if before is not None:
        cursor = Cursor(None, before)
    query = sa.select(jobs.c.id).where(*conditions(found, now))
    return ordered(query, sort, cursor).limit(limit + 1)


def _request_details(session: Session, ids: list[int], permanent: set[int]
                     ) -> dict[int, tuple[list[str], str | None, datetime | None]]:
    """Per job: its type codes, the reason of its failing request (else of the last one that
    failed once) and when the failing request failed; adds to ``permanent`` the jobs whose
    failing request failed for good."""
    is_permanent = judge()
    details: dict[int, tuple[list[str], str | None, datetime | None]] = {
        i: ([], None, None) for i in ids}
    if not ids:
        return details
    rows = session.execute(rows_of_jobs(session, ids, lambda match: sa.select(
        requests.c.job_id, requests.c.position, requests.c.type_code, requests.c.state,
        requests.c.last_error, requests.c.updated_at, requests.c.attempts,
    ).where(match(requests.c.job_id)), order_by=("job_id", "position")))
    for row in rows:
        codes, error, failed_at = details[row.job_id]
        if row.type_code not in codes:
            codes.append(row.type_code)
        failing = row.state in (RequestState.FAILED, RequestState.RETRYING)
        if is_permanent(row.type_code, row.state, row.attempts):
            permanent.add(row.job_id)
        if row.last_error and (failing or failed_at is None):
            error = shown_reason(row.last_error)
            failed_at = row.updated_at if failing else None
        details[row.job_id] = (codes, error, failed_at)
    return details


def _hide_secrets(session: Session,
                  details: dict[int, tuple[list[str], str | None, datetime | None]]) -> None:
    """Hide the values of the secret keys of a job's payloads and results in its reason,
    as the job's page does: a reason stored before a key was masked holds them in clear."""
    shown = [job_id for job_id, (_, error, _) in details.items() if error]
    if not shown:
        return
    texts: dict[int, list[str | None]] = {job_id: [] for job_id in shown}
    for row in session.execute(rows_of_jobs(session, shown, lambda match: sa.select(
            requests.c.job_id, requests.c.payload, requests.c.result,
    ).where(match(requests.c.job_id)))):
        texts[row.job_id] += [row.payload, row.result]
    masker = current().settings.masker
    for job_id in shown:
        codes, error, failed_at = details[job_id]
        details[job_id] = (codes, hide(error or "", masker.secrets_of_json(*texts[job_id])),
                           failed_at)


def _blockers(session: Session, ids: list[int]) -> dict[int, int]:
    """The job that holds back each of ``ids`` (waiting jobs with a relation), if any."""
    if not ids:
        return {}
    earlier = jobs.alias("earlier")
    first = (sa.select(sa.func.min(earlier.c.id)).where(*holds_back(earlier, jobs))
             .scalar_subquery())
    return {job_id: blocker for job_id, blocker in session.execute(
        sa.select(jobs.c.id, first).where(jobs.c.id.in_(ids))) if blocker is not None}


def _attempt_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    # Each request's attempts by key (a subquery a request): joined, on tables without
    # statistics, PostgreSQL read all of attempts for each job.
    tries = sa.select(sa.func.count()).where(attempts.c.request_id == requests.c.id)
    counts: dict[int, int] = {}
    for job_id, count in session.execute(rows_of_jobs(session, ids, lambda match: sa.select(
            requests.c.job_id, tries.scalar_subquery().label("tries"),
    ).where(match(requests.c.job_id)))):
        counts[job_id] = counts.get(job_id, 0) + count
    return counts


def shown_reason(text: str) -> str:
    """A failure reason as the list shows it: whole, up to REASON_SHOWN characters."""
    text = text.strip()
    return text if len(text) <= REASON_SHOWN else text[: REASON_SHOWN - 1] + "…"


def first_line(text: str | None, limit: int = 200) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
