"""Tables of the queue: jobs, their ordered requests, every attempt, digest runs, and the
attempts counted per hour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db import TABLE_ARGS, Base, LongText, UTCDateTime
from .request_builder import RequestBuilder
from .states import DUE_STATES, UNFINISHED_STATES, JobState, RequestState, written_out


def _state_enum(enum_cls: type) -> sa.Enum:
    # Stored as a plain string column: adding a state must not need an ALTER TYPE.
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


#: The jobs whose unique key is taken: every state but completed and cancelled.
ACTIVE_UNIQUE_KEY = "unique_key IS NOT NULL AND state NOT IN ('completed', 'cancelled')"


PARTIAL_INDEX_DIALECTS = ("postgresql", "sqlite")
#: What the partial indexes of the job list hold, where the database has partial indexes
#: (migrations 0014, 0015): a new job of none of them is written into none of them, and every
#: query of them names a value of the column, which implies it is not NULL.
IN_A_RELATION = sa.text("relation_id IS NOT NULL")
HAS_STORE = sa.text("store_id IS NOT NULL")
FINISHED = sa.text("finished_at IS NOT NULL")
SCHEDULED = sa.text("schedule_name IS NOT NULL")
#: The jobs of a relation that hold back its later jobs.
HOLDS_BACK = sa.text(
    f"relation_id IS NOT NULL AND state IN ({written_out(UNFINISHED_STATES)})")
#: The jobs a claim may take when their time has come.
DUE = sa.text(f"state IN ({written_out(DUE_STATES)})")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    relation_id: Mapped[str | None] = mapped_column(sa.String(255))
    source_id: Mapped[str] = mapped_column(sa.String(100), default="default")
    store_id: Mapped[int | None] = mapped_column(sa.Integer)
    state: Mapped[JobState] = mapped_column(_state_enum(JobState), default=JobState.PENDING)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: "host:pid:run" of the digest holding the job, while it holds it.
    locked_by: Mapped[str | None] = mapped_column(sa.String(255))
    #: The lease ends here; afterwards any digest may claim the job again.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: -100..100: due jobs are claimed higher first, then oldest first.
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    #: While the job is active (neither completed nor cancelled) no other job of its
    #: source has this key.
    unique_key: Mapped[str | None] = mapped_column(sa.String(255))
    #: A job of a recurring schedule: the entry's name and the slot (the time its cron
    #: expression names) it was enqueued for (see recurring.py).
    schedule_name: Mapped[str | None] = mapped_column(sa.String(100))
    schedule_slot: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requests: Mapped[list[Request]] = relationship(
        back_populates="job",
        order_by="Request.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        # The digest's "highest priority, then oldest, due job first" walk. (MariaDB has
        # no partial index: its claim walks ix_jobs_due_by_state, made by migration 0010.)
        sa.Index(
            "ix_jobs_due",
            sa.desc("priority"),
            "created_at",
            "id",
            postgresql_where=DUE, sqlite_where=DUE,
        ),
        # One active job per unique key and source: one source's keys never block
        # another's jobs. (MariaDB: a unique index on the source and a generated column
        # that is NULL once the job is finished, made by migrations 0010 and 0018.)
        sa.Index(
            "ux_jobs_unique_key",
            "source_id",
            "unique_key",
            unique=True,
            postgresql_where=sa.text(ACTIVE_UNIQUE_KEY),
            sqlite_where=sa.text(ACTIVE_UNIQUE_KEY),
        ).ddl_if(dialect=PARTIAL_INDEX_DIALECTS),  # type: ignore[arg-type]  # a tuple works
        # Lists, newest first, filtered by one column.
        sa.Index("ix_jobs_state_id", "state", "id"),
        # Only the jobs of a relation (the claim asks only about them).
        sa.Index("ix_jobs_relation", "relation_id", "source_id", "id",
                 postgresql_where=IN_A_RELATION, sqlite_where=IN_A_RELATION),
        # The unfinished jobs of a relation: whether an earlier one holds a job back
        # (due_jobs.blocker) is one index entry read, however many jobs the relation has run.
        sa.Index("ix_jobs_unfinished_relation", "relation_id", "source_id", "id",
                 postgresql_where=HOLDS_BACK, sqlite_where=HOLDS_BACK
                 ).ddl_if(dialect=PARTIAL_INDEX_DIALECTS),  # type: ignore[arg-type]
        # Only the jobs that have a store (a job without one is in no store's list).
        sa.Index("ix_jobs_store_id", "store_id", "id", postgresql_where=HAS_STORE,
                 sqlite_where=HAS_STORE),
        sa.Index("ix_jobs_source_id", "source_id", "id"),
        sa.Index("ix_jobs_priority", "priority", "id"),
        # The dashboard: the oldest due job; due and blocked jobs read from the index
        # alone (relation, source and id: whether an earlier job holds each back).
        sa.Index("ix_jobs_state_next_attempt", "state", "next_attempt_at", "relation_id",
                 "source_id", "id"),
        # Lists filtered by creation time.
        sa.Index("ix_jobs_created_at", "created_at", "id"),
        # The list sorted by next attempt (due jobs) and by failed-at (migration 0012).
        sa.Index(
            "ix_jobs_next_attempt",
            "next_attempt_at",
            "id",
            postgresql_where=DUE, sqlite_where=DUE,
        ),
        sa.Index("ix_jobs_failed_at", "state", "finished_at", "id", postgresql_where=FINISHED,
                 sqlite_where=FINISHED),
        # One job a schedule's slot, for good; and an entry's jobs, newest slot first.
        # Only the schedules' jobs (on MariaDB all: NULLs never collide).
        sa.Index("ux_jobs_schedule_slot", "schedule_name", "schedule_slot", unique=True,
                 postgresql_where=SCHEDULED, sqlite_where=SCHEDULED),
        # None on locked_by or locked_until: claims and heartbeats rewrite them, and
        # PostgreSQL then updates the row in place (migration 0005).
        TABLE_ARGS,
    )

    #: Set by JobBuilder.set_delay(): the save makes ``next_attempt_at`` its time plus this.
    delay_seconds = None  # type: float | None
    #: Set by a save: True when an active job had the unique key already, and this object
    #: now stands for that job (its id), False when the save created the job.
    duplicate = False  # type: bool

    def request_builder(self) -> RequestBuilder[Request]:
        """Start a new request of this job (the seed's ``getRequestBuilder()``)."""
        return RequestBuilder(self, Request)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.state} relation={self.relation_id!r}>"


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(sa.Integer)
    type_code: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[str] = mapped_column(LongText)
    #: What the job list's text search reads: the payload with its secrets masked (see
    #: masking.Masker.searchable), so that no search matches inside a secret.
    payload_search: Mapped[str] = mapped_column(LongText)
    state: Mapped[RequestState] = mapped_column(
        _state_enum(RequestState), default=RequestState.PENDING
    )
    #: Attempts in the current round (an operator's retry of a failed job starts a new round).
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(LongText)
    result: Mapped[str | None] = mapped_column(LongText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    job: Mapped[Job] = relationship(back_populates="requests")
    history: Mapped[list[Attempt]] = relationship(
        back_populates="request",
        order_by="Attempt.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    # No index on state, updated_at, attempts or result: the digest writes them twice an
    # attempt, and PostgreSQL then updates the row in place (migration 0005).
    __table_args__ = (
        sa.UniqueConstraint("job_id", "position"),
        sa.Index("ix_requests_type_code", "type_code", "job_id"),
        TABLE_ARGS,
    )

    def __repr__(self) -> str:
        return f"<Request {self.id} {self.type_code} {self.state}>"


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("requests.id", ondelete="CASCADE"))
    #: 1, 2, 3... over the request's whole life, across operator retries.
    number: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    error: Mapped[str | None] = mapped_column(LongText)
    traceback: Mapped[str | None] = mapped_column(LongText)
    #: When it was due to start: its job's run-at or retry time for the first request a
    #: digest runs of the job, the previous request's end for the next ones; never after
    #: ``started_at``. NULL: written before migration 0024, or taken over from a digest
    #: that died (its due time went with it).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[Request] = relationship(back_populates="history")

    __table_args__ = (
        sa.UniqueConstraint("request_id", "number"),
        sa.Index("ix_attempts_finished_at", "finished_at"),
        TABLE_ARGS,
    )

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class DigestRun(Base):
    """One execution of the digest: what it did and how long it took."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(sa.String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    jobs: Mapped[int] = mapped_column(sa.Integer, default=0)
    succeeded: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    retrying: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_digest_runs_started_at", "started_at"), TABLE_ARGS)


class DigestProcess(Base):
    """A digest process while it runs: what the Digests page lists.

    Written when a run starts, beaten by the run's heartbeat, deleted when the run ends (a
    ``--loop`` digest: when it starts, beaten while idle too, deleted when it stops); a
    digest that was killed leaves its row, stale, until a later digest prunes it.
    """

    __tablename__ = "digest_processes"

    #: "host:pid:random", as in ``jobs.locked_by`` of the jobs it holds.
    worker: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Seconds between its heartbeats (its lease decides): three missed, it is stale.
    beat_seconds: Mapped[float] = mapped_column(sa.Double)
    #: Jobs it runs at once (its threads).
    concurrency: Mapped[int] = mapped_column(sa.Integer)
    #: The one job it was asked to run (``flask digest --job``, Run now); NULL: a run of
    #: due jobs, the kind cron starts.
    job_id: Mapped[int | None] = mapped_column(sa.Integer)
    #: Its pid namespace (Linux: the inode of /proc/self/ns/pid), so that a digest starting
    #: on the same host can tell whether ``pid`` is one of its own processes.
    pid_namespace: Mapped[str | None] = mapped_column(sa.String(32))
    #: Database connections it holds; NULL: not told.
    connections: Mapped[int | None] = mapped_column(sa.Integer)
    #: Calls it abandoned past their timeout that never returned; NULL: not told.
    hung: Mapped[int | None] = mapped_column(sa.Integer)

    __table_args__ = (TABLE_ARGS,)


class FailureAlert(Base):
    """A job that failed for good, awaiting (or past) its alert email.

    Written by the digest in the transaction that fails the job; a snapshot of the failure,
    so a later operator retry does not change what the alert says.
    """

    __tablename__ = "failure_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    #: The request that failed (it goes with its job, hence no foreign key of its own).
    request_id: Mapped[int] = mapped_column(sa.Integer)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The first line of the failure's reason.
    reason: Mapped[str | None] = mapped_column(LongText)
    #: When the mail server accepted the email that listed it; NULL while it waits.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_failure_alerts_sent_at", "sent_at", "id"),
        sa.Index("ix_failure_alerts_job_id", "job_id"),
        TABLE_ARGS,
    )


class AttemptHour(Base):
    """Attempts of one settled hour and request type (``*``: every type, which also marks
    the hour as counted). An ended hour does not change any more, so the overview counts
    it once (``stats.keep_hours``) instead of reading its attempts on every view."""

    __tablename__ = "attempt_hours"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    type_code: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    succeeded: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (TABLE_ARGS,)


class ConnectorRow(Base):
    """A connector with a limit, and its budget shared by every digest (see limits.py)."""

    __tablename__ = "connectors"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    #: Calls per second, and calls at once, as the digest that last used it declared them.
    rate_limit: Mapped[float | None] = mapped_column(sa.Double)
    max_in_flight: Mapped[int | None] = mapped_column(sa.Integer)
    #: When the next call may start, in seconds since the epoch by the database's clock:
    #: each call pushes it one interval (1 / rate_limit) further.
    next_call_at: Mapped[float] = mapped_column(sa.Double, default=0.0)
    #: Rows of ``connector_calls``, kept in step with them in the same transactions.
    in_flight: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (TABLE_ARGS,)


class ConnectorCall(Base):
    """A call in flight through a limited connector: one slot of its ``max_in_flight``.

    It lives as long as its digest holds the job's lease; once that lease has run out
    (the digest was killed) any digest may take the slot back. No foreign key to the job:
    a pruned job's call must be taken back with the count, not vanish from under it.
    """

    __tablename__ = "connector_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(sa.String(100))
    job_id: Mapped[int] = mapped_column(sa.Integer)
    #: The digest (``jobs.locked_by``) whose lease on the job keeps the slot.
    worker: Mapped[str] = mapped_column(sa.String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_connector_calls_connector", "connector", "id"), TABLE_ARGS)


#: Indexes the migrations create on one database only, outside the models: PostgreSQL's
#: trigram indexes for the job list's text search, MariaDB's claim walk and unique key.
MIGRATION_ONLY_INDEXES = frozenset({"ix_requests_payload_search_trgm",
                                    "ix_requests_last_error_trgm",
                                    "ix_jobs_due_by_state", "ux_jobs_active_unique_key"})
#: Columns the migrations create on one database only: MariaDB's generated column behind
#: its unique key over active jobs.
MIGRATION_ONLY_COLUMNS = frozenset({"active_unique_key"})
#: Model indexes that exist only on the databases with partial indexes.
PARTIAL_ONLY_INDEXES = frozenset({"ux_jobs_unique_key", "ix_jobs_unfinished_relation"})
#: Model indexes with a descending column.
DESCENDING_INDEXES = frozenset({"ix_jobs_due"})


def include_in_schema_comparison(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: leave the migration-only indexes and columns out of
    comparisons."""
    return not ((type_ == "index" and name in MIGRATION_ONLY_INDEXES)
                or (type_ == "column" and name in MIGRATION_ONLY_COLUMNS))


def schema_comparison_filter(dialect: str) -> Callable[..., bool]:
    """``include_in_schema_comparison`` for one database: on MariaDB, also without the
    partial indexes it has no use for."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index" and name in DESCENDING_INDEXES and dialect != "postgresql":
            return False  # alembic compares a DESC column on PostgreSQL only
        if type_ == "index" and name in PARTIAL_ONLY_INDEXES:
            return dialect in PARTIAL_INDEX_DIALECTS
        return include_in_schema_comparison(obj, name, type_, reflected, compare_to)
    return include
