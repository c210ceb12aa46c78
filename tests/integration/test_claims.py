"""A claim locks the jobs it takes and no others: the claim the digest sends on each
database (on PostgreSQL, one statement that also reads the jobs' requests)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.db import utcnow
from dashboard.queue import Job, JobState
from dashboard.queue.jobs.models import Request
from dashboard.queue.store import dialect
from dashboard.queue.store.claims import Lease
from tests.support.concurrency import forget_statistics

jobs = Job.__table__
requests = Request.__table__
#: Seconds a claim may wait for a lock before the test calls it stuck.
PATIENCE = {"postgresql": {"options": "-c lock_timeout=2000"},
            "mariadb": {"init_command": "SET SESSION innodb_lock_wait_timeout = 2"}}


@pytest.mark.parametrize("db_url", ["postgresql", "mariadb"], indirect=True)
def test_a_claim_does_not_wait_for_a_job_another_digest_is_writing(app, db_url):
    # Few due jobs left among many finished ones: InnoDB then walked an index through the
    # running jobs to claim them, waiting for the lock of the one another digest was
    # writing (and, once that digest waited for the claim in turn, deadlocked with it).
    now = utcnow()
    kind = "postgresql" if db_url.startswith("postgresql") else "mariadb"
    pending = dict(source_id="default", state=JobState.PENDING, next_attempt_at=now,
                   created_at=now, updated_at=now)
    with db.engine.begin() as connection:
        # 2,000 jobs, the first 1,980 done, a batch of 10 claimed by another digest.
        connection.execute(jobs.insert(), [pending] * 2000)
        first = connection.scalar(sa.select(sa.func.min(jobs.c.id)))
        connection.execute(sa.update(jobs).where(jobs.c.id < first + 1980).values(
            state=JobState.COMPLETED))
        connection.execute(sa.update(jobs).where(jobs.c.id.between(
            first + 1980, first + 1989)).values(
            state=JobState.RUNNING, locked_by="other digest",
            locked_until=now + timedelta(minutes=5)))
        connection.exec_driver_sql("ANALYZE jobs" if kind == "postgresql" else "ANALYZE TABLE jobs")
        other = connection.scalar(
            sa.select(sa.func.min(jobs.c.id)).where(jobs.c.state == JobState.RUNNING))
        due = connection.scalars(
            sa.select(jobs.c.id).where(jobs.c.state == JobState.PENDING)).all()
        add_requests(connection)

    impatient = sa.create_engine(db_url, connect_args=PATIENCE[kind])
    try:
        with db.engine.connect() as writer, impatient.connect() as claimer:
            # The other digest records an outcome: its job's row is locked until it commits.
            writer.execute(sa.update(jobs).where(jobs.c.id == other).values(updated_at=now))
            claimed = dialect.for_connection(claimer).claim(
                claimer, Lease("this digest", 300), due_by=now, now=now, limit=10).ids
            writer.rollback()
    finally:
        impatient.dispose()
        with db.engine.begin() as connection:
            forget_statistics(connection)
    assert sorted(claimed) == sorted(due)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("plan", ["default", "nested loops"])
def test_a_claim_takes_at_most_its_limit_whatever_the_plan(app, db_url, plan):
    # Folded into the UPDATE as a subquery, the locking read with its LIMIT could be run
    # again for each of the UPDATE's rows under some plans, and leased more jobs than it
    # was asked for.
    now = utcnow()
    pending = dict(source_id="default", state=JobState.PENDING, next_attempt_at=now,
                   created_at=now, updated_at=now)
    with db.engine.begin() as connection:
        connection.execute(jobs.insert(), [pending] * 50)
        add_requests(connection)
        connection.exec_driver_sql("ANALYZE jobs")
    settings = ("enable_hashjoin", "enable_mergejoin", "enable_material", "enable_hashagg",
                "enable_sort") if plan == "nested loops" else ()
    try:
        with db.engine.connect() as claimer:
            # For the connection (the claim runs outside a transaction), reset below.
            for setting in settings:
                claimer.exec_driver_sql(f"SET {setting} = off")
            claimer.commit()
            claimed = dialect.for_connection(claimer).claim(
                claimer, Lease("this digest", 300), due_by=now, now=now, limit=3).ids
            for setting in settings:
                claimer.exec_driver_sql(f"RESET {setting}")
            claimer.commit()
        with db.engine.connect() as connection:
            leased = connection.scalar(sa.select(sa.func.count()).where(
                jobs.c.locked_by == "this digest"))
    finally:
        with db.engine.begin() as connection:
            forget_statistics(connection)
    assert (len(claimed), leased) == (3, 3)


def add_requests(connection: sa.Connection) -> None:
    """A request for each job: the claim reads the claimed jobs' requests with them."""
    connection.execute(requests.insert().from_select(
        ["job_id", "position", "type_code", "payload", "payload_search", "state", "attempts",
         "created_at", "updated_at"],
        sa.select(jobs.c.id, sa.literal(0), sa.literal("test_echo"), sa.literal("{}"),
                  sa.literal("{}"), sa.literal("pending"), sa.literal(0), jobs.c.created_at,
                  jobs.c.created_at)))
