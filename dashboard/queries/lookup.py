"""Where the header's search box leads: a job id, a relation id or a unique key, typed as
an operator has it at hand ("#204", "cust-7", "order-81723"), goes straight to its job or
its list; anything else is searched for in payloads and errors."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.jobs.models import ACTIVE_UNIQUE_KEY, Job
from .filters import MAX_ID

jobs = Job.__table__


@dataclass(frozen=True)
class Found:
    #: "job" (``job_id``), "relation" (the list of ``text``) or "search" (a text search).
    kind: str
    text: str
    job_id: int | None = None
    #: How the text was read, for the message: "job id", "unique key".
    read_as: str | None = None


def look_up(session: Session, typed: str) -> Found:
    """What ``typed`` names, tried in turn: a job id (digits, "#" allowed), a unique key
    (its active job, else its newest), a relation id; else a text search."""
    text = typed.strip()
    number = text.removeprefix("#").strip()
    if number.isascii() and number.isdigit() and len(number) <= len(str(MAX_ID)) \
            and 0 < int(number) <= MAX_ID:
        if session.scalar(sa.select(jobs.c.id).where(jobs.c.id == int(number))) is not None:
            return Found("job", text, int(number), "job id")
    keyed = _by_unique_key(session, text)
    if keyed is not None:
        return Found("job", text, keyed, "unique key")
    if session.scalar(sa.select(jobs.c.id).where(jobs.c.relation_id == text).limit(1)):
        return Found("relation", text, read_as="relation id")
    return Found("search", text)


def _by_unique_key(session: Session, key: str) -> int | None:
    # The active job first: the partial unique index finds it at once (the condition is
    # written as the index's, so the planner can use it).
    active = session.scalar(sa.select(jobs.c.id).where(
        jobs.c.unique_key == key, sa.text(ACTIVE_UNIQUE_KEY)).limit(1))
    if active is not None:
        return active
    return session.scalar(sa.select(jobs.c.id).where(jobs.c.unique_key == key)
                          .order_by(jobs.c.id.desc()).limit(1))
