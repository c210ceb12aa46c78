"""The job list's sort orders, their keyset cursors, and its capped count.

Every order is a walk of an index: newest first by id (``ix_jobs_*_id``), soonest next
attempt first (``ix_jobs_next_attempt``), latest failure first (``ix_jobs_failed_at``,
migration 0012). A page after the first starts from a cursor, the sort key and id of the
last row shown, never from an OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.jobs.models import Job
from ..queue.jobs.states import DUE_STATES, JobState
from .filters import MAX_ID, BadFilter, whole_number

jobs = Job.__table__

#: Counts stop here: "10,000+ matching" costs at most 10,001 index entries.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class Sort:
    name: str
    #: What the list's sort field says.
    label: str
    #: The sort key besides the id; None sorts by id alone.
    key: sa.Column | None
    descending: bool
    #: Jobs the order leaves out (a job with no next attempt has no place in that order).
    scope: tuple[sa.ColumnElement[bool], ...] = ()
    #: Said next to the count when the scope leaves jobs out.
    scope_note: str = ""


SORTS = {
    sort.name: sort for sort in (
        Sort("created", "newest first", None, descending=True),
        Sort("next", "next attempt, soonest first", jobs.c.next_attempt_at, descending=False,
             scope=(jobs.c.state.in_(list(DUE_STATES)), jobs.c.next_attempt_at.is_not(None)),
             scope_note="pending or retrying"),
        Sort("failed", "failed, latest first", jobs.c.finished_at, descending=True,
             scope=(jobs.c.state == JobState.FAILED, jobs.c.finished_at.is_not(None)),
             scope_note="failed"),
    )
}
DEFAULT_SORT = "created"


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after the row with this sort key and id."""

    at: datetime | None
    id: int

    def to_param(self) -> str:
        if self.at is None:
            return str(self.id)
        return f"{self.at.astimezone(UTC).isoformat()}~{self.id}"


def parse_sort(raw: str | None) -> Sort:
    text = (raw or "").strip() or DEFAULT_SORT
    if text not in SORTS:
        raise BadFilter("sort", text, f"is not a sort order (one of {', '.join(SORTS)})")
    return SORTS[text]


def parse_cursor(sort: Sort, raw: str | None) -> Cursor | None:
    """A page cursor: ``<id>`` for the id order, ``<ISO time>~<id>`` for the others."""
    if raw is None or not raw.strip():
        return None
    if sort.key is None:
        return Cursor(None, whole_number("cursor", raw, 1, MAX_ID))
    at, _, ident = raw.strip().rpartition("~")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise BadFilter("cursor", raw, "is not a page cursor of this sort order") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Cursor(moment, whole_number("cursor", ident, 1, MAX_ID))


def ordered(query: sa.Select, sort: Sort, cursor: Cursor | None) -> sa.Select:
    """The query in this order, starting after the cursor, within the order's scope."""
    ident = jobs.c.id
    query = query.where(*sort.scope)
    if sort.key is None:
        if cursor is not None:
            query = query.where(ident < cursor.id if sort.descending else ident > cursor.id)
        return query.order_by(ident.desc() if sort.descending else ident)
    key = sort.key
    if cursor is not None:
        # A plain range on the key, which every database walks in index order, and the
        # tie on the key broken by id as a filter (an OR of two ranges becomes a bitmap
        # scan and a sort on PostgreSQL; row comparisons are no range on MariaDB).
        if sort.descending:
            query = query.where(key <= cursor.at,
                                sa.or_(key < cursor.at, ident < cursor.id))
        else:
            query = query.where(key >= cursor.at,
                                sa.or_(key > cursor.at, ident > cursor.id))
    if sort.descending:
        return query.order_by(key.desc(), ident.desc())
    return query.order_by(key, ident)


def counted(where: list[sa.ColumnElement[bool]], cap: int = COUNT_CAP) -> sa.Select[int]:
    """How many jobs match, counted up to ``cap + 1`` (then "cap+"): a statement of its
    own, or a column of the page's (``jobs.list_jobs``)."""
    matching = sa.select(jobs.c.id).where(*where).limit(cap + 1).subquery()
    return sa.select(sa.func.count()).select_from(matching)


def capped_count(session: Session | sa.Connection, where: list[sa.ColumnElement[bool]],
                 cap: int = COUNT_CAP) -> int:
    """How many jobs match, counted up to ``cap + 1`` (then "cap+")."""
    return session.scalar(counted(where, cap)) or 0
