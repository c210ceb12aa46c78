"""The audit log's tables: one entry per operator action, and the jobs it touched."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import TABLE_ARGS, Base, LongText, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The user name (kept as text: the entry outlives the user).
    actor: Mapped[str] = mapped_column(sa.String(80))
    #: retry, pause, resume, cancel, run, user-create, ...
    action: Mapped[str] = mapped_column(sa.String(32))
    #: How many jobs the action changed.
    job_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: For bulk actions over a filter: the filter, as JSON.
    filter: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[str | None] = mapped_column(LongText)

    __table_args__ = (
        sa.Index("ix_audit_entries_actor", "actor", "id"),
        sa.Index("ix_audit_entries_action", "action", "id"),
        TABLE_ARGS,
    )


class AuditJob(Base):
    """A job an audit entry changed (one row per job, so a job's page lists its history)."""

    __tablename__ = "audit_jobs"

    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("audit_entries.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)

    __table_args__ = (sa.Index("ix_audit_jobs_job_id", "job_id", "entry_id"), TABLE_ARGS)
