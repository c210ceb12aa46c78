"""Whether a waiting job is blocked costs one index entry, however many jobs its relation
has run: the due and blocked lists and counts read ix_jobs_unfinished_relation (migration
0020), never the relation's finished jobs, and find the jobs whose time has come in
ix_jobs_state_next_attempt alone (SQLite and PostgreSQL; MariaDB has no partial index)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queries.filters import JobFilter
from dashboard.queries.jobs import conditions
from dashboard.queries.ordering import capped_count
from dashboard.queue.jobs.models import Job
from tests.support import plans
from tests.support.clock import T0

jobs = Job.__table__
#: Jobs a relation ran and finished before the ones that wait now.
HISTORY = 3_000
WAITING = 20


@pytest.fixture
def long_relation(app, db_url):
    """One relation with HISTORY completed jobs, then WAITING pending jobs whose time has
    come: the first is due, the others are blocked behind it."""
    if db_url.startswith(("mysql", "mariadb")):
        pytest.skip("MariaDB has no partial index: it asks ix_jobs_relation, as before")
    at = T0 - timedelta(hours=1)
    rows = [dict(relation_id="cust-1", source_id="default", state="completed",
                 next_attempt_at=None, created_at=at, updated_at=at, finished_at=at,
                 priority=0)
            for _ in range(HISTORY)]
    rows += [dict(relation_id="cust-1", source_id="default", state="pending",
                  next_attempt_at=at, created_at=at, updated_at=at, finished_at=None,
                  priority=0) for _ in range(WAITING)]
    with db.engine.begin() as connection:
        connection.execute(sa.insert(jobs), rows)
        connection.exec_driver_sql("ANALYZE")
    yield
    db.session.remove()


def count(kind: str):
    return lambda connection: capped_count(
        connection, conditions(JobFilter(waiting=kind), now=T0))


@pytest.mark.parametrize("kind", ["due", "blocked"])
def test_a_waiting_count_reads_no_finished_job_of_the_relation(long_relation, db_url, kind):
    found = {"due": 1, "blocked": WAITING - 1}[kind]
    with db.engine.connect() as connection:
        assert count(kind)(connection) == found
        if db_url.startswith("sqlite"):
            # Virtual machine steps, in hundreds: walking the relation's 3,000 finished
            # jobs for each of the 20 waiting ones would be tens of thousands.
            steps = plans.vm_steps(connection, count(kind))
            assert steps < 40, steps
            statement, parameters = plans.sent_statement(count(kind), "count(")
            shown = "\n".join(row[-1] for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "COVERING INDEX ix_jobs_state_next_attempt" in shown, shown
            assert "ix_jobs_unfinished_relation" in shown, shown
            return
        statement, parameters = plans.sent_statement(count(kind), "count(")
        plan = plans.explain_statement(connection, statement, parameters)
    # Every row of jobs read, over all the loops: the waiting ones, and the relation's
    # unfinished ones (PostgreSQL finds the first of each relation among them; with this
    # few it may do so again for each waiting job), never its 3,000 finished ones.
    assert plans.rows_read(plan) <= (WAITING + 1) ** 2 < HISTORY, plans.describe(plan)
    assert "ix_jobs_unfinished_relation" in plans.describe(plan)
