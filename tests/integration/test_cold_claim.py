"""A claim reads its batch, not the backlog, on a table that has not been analyzed since a
burst of jobs as on an analyzed one (issue 11, part 3).

Each backlog is 100,000 jobs, 99,000 of them due, written in one INSERT ... SELECT. In
the second, 20% of the jobs are in 200 relations whose first job another digest is
running: every other job of those relations is held back, and the claim has to pass over
them. In the third, one job in seven has a high priority and one in eleven a low one: the
claim takes the oldest of the high ones, walking the index in priority order. What a claim reads
is measured with each database's own counters (see tests/support/plans.py), once before the
database has statistics of the jobs and once after it has taken them. A burst is seeded
once a backlog, in tables just made from the migrations; a test that claims gives its
jobs back after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from dashboard.app.extensions import db
from dashboard.db import UTCDateTime
from dashboard.queue import Job, JobState, Request, RequestState
from dashboard.queue.store import dialect, due_jobs
from dashboard.queue.store.claims import Lease, claim_due
from tests.support import databases, plans
from tests.support.apps import database_url, module_app
from tests.support.clock import T0
from tests.support.concurrency import forget_statistics
from tests.support.schema import reset_schema

pytestmark = pytest.mark.slow

jobs = Job.__table__
requests = Request.__table__
BACKLOG = 100_000
BATCH = 10
LEASE = Lease("this digest", 300)
#: Bounds far below the backlog: a claim that walked it would read 100,000 rows.
MAX_ROWS = 4 * BATCH
MAX_BUFFERS = 12 * BATCH
MAX_HANDLER_READS = 40 * BATCH  # candidates: 4 times the batch, each checked (claims.py)
MAX_VM_STEPS = 20 * BATCH  # hundreds of instructions


def seed(connection: sa.Connection, *, relations: bool, priorities: bool = False) -> None:
    """100,000 jobs in one statement, the first 1,000 finished and the others due. With
    ``relations``, every fifth job is in one of 200 relations, whose first job (among the
    first 1,000) is running in another digest: the due jobs of those relations, one in
    five from the first due job on, are held back."""
    g = sa.select(sa.literal(1).label("n")).cte("g", recursive=True)
    g = g.union_all(sa.select(g.c.n + 1).where(g.c.n < BACKLOG))
    in_relation = sa.and_(sa.literal(relations), g.c.n % 5 == 0)
    first_of_relation = sa.and_(in_relation, g.c.n <= 1000)
    t0 = sa.literal(T0, UTCDateTime())
    priority = sa.case((sa.and_(sa.literal(priorities), g.c.n % 7 == 0), 10),
                       (sa.and_(sa.literal(priorities), g.c.n % 11 == 0), -10), else_=0)
    connection.execute(jobs.insert().from_select(
        ["relation_id", "source_id", "state", "next_attempt_at", "created_at", "updated_at",
         "locked_by", "locked_until", "priority"],
        sa.select(
            sa.case((in_relation, sa.literal("r-") + sa.cast(g.c.n % 1000, sa.String))),
            sa.literal("default"),
            sa.case((first_of_relation, JobState.RUNNING.value),
                    (g.c.n <= 1000, JobState.COMPLETED.value), else_=JobState.PENDING.value),
            t0, t0, t0,
            sa.case((first_of_relation, "other digest")),
            sa.case((first_of_relation, sa.literal(T0 + timedelta(hours=1), UTCDateTime()))),
            priority,
        ),
    ))


def seed_requests(connection: sa.Connection) -> None:
    """One request per job, which the digest's claim statement reads on PostgreSQL."""
    connection.execute(requests.insert().from_select(
        ["job_id", "position", "type_code", "payload", "payload_search", "state", "attempts",
         "created_at", "updated_at"],
        sa.select(jobs.c.id, sa.literal(0), sa.literal("noop"), sa.literal("{}"),
                  sa.literal("{}"), sa.literal(RequestState.PENDING.value), sa.literal(0),
                  jobs.c.created_at, jobs.c.created_at)))


@pytest.fixture(scope="module", params=databases.KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_url(request.param, tmp_path_factory.mktemp("cold"))


@pytest.fixture(scope="module")
def app(db_url: str) -> Iterator[Flask]:
    with module_app(db_url) as app:
        yield app


@pytest.fixture(scope="module", params=["no relations", "20% in relations", "mixed priorities"])
def backlog(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module", params=["fresh", "analyzed"])
def statistics(request: pytest.FixtureRequest) -> str:
    return request.param


def run_order(item: pytest.Function) -> tuple[str, str, bool]:
    """By database, then backlog, fresh before analyzed (see tests/conftest.py): a burst is
    seeded once a backlog, and its tests that claim come after those that only read."""
    params = item.callspec.params
    return params["db_url"], params["backlog"], params["statistics"] == "analyzed"


@dataclass
class Table:
    """The jobs table the module's tests share: a burst is seeded once a backlog, and
    again when it must be fresh again, or when its statistics are to be taken after a
    claim on PostgreSQL (``dead``: a claim and its undoing leave dead row versions in the
    table and its indexes there, which the reads measured next would walk)."""

    app: Flask
    backlog: str | None = None
    analyzed: bool = False
    dead: bool = False
    expected: list[int] = field(default_factory=list)

    def ready(self, backlog: str, *, analyzed: bool) -> list[int]:
        if self.backlog != backlog or (self.analyzed and not analyzed) or (
                analyzed and not self.analyzed and self.dead):
            self.seed(backlog)
        if analyzed and not self.analyzed:
            with db.engine.begin() as connection:
                connection.exec_driver_sql(ANALYZE[db.engine.dialect.name]).close()
            self.analyzed = True
        return self.expected

    def seed(self, backlog: str) -> None:
        """A burst of jobs in tables just made from the migrations: whatever a table's
        statistics know, they know nothing of it."""
        dialect = db.engine.dialect.name
        db.session.remove()
        reset_schema(self.app)  # a table never analyzed, as after `flask db upgrade`
        with db.engine.begin() as connection:
            if dialect in ("mysql", "mariadb"):
                # InnoDB would recompute them in the background, as autoanalyze would later.
                connection.exec_driver_sql("ALTER TABLE jobs STATS_AUTO_RECALC = 0")
                connection.exec_driver_sql(f"SET SESSION max_recursive_iterations = {BACKLOG}")
            seed(connection, relations=backlog == "20% in relations",
                 priorities=backlog == "mixed priorities")
            if dialect == "postgresql":
                seed_requests(connection)
            self.expected = connection.execute(
                sa.select(jobs.c.id)
                .where(jobs.c.relation_id.is_(None), jobs.c.state == JobState.PENDING)
                .order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)
                .limit(BATCH)).scalars().all()
        self.backlog, self.analyzed, self.dead = backlog, False, False


@pytest.fixture(scope="module")
def table(app: Flask) -> Iterator[Table]:
    table = Table(app)
    yield table
    db.session.remove()
    with db.engine.begin() as connection:
        if db.engine.dialect.name in ("mysql", "mariadb"):
            connection.exec_driver_sql("ALTER TABLE jobs STATS_AUTO_RECALC = DEFAULT")
        connection.execute(jobs.delete())
        forget_statistics(connection)


@pytest.fixture
def burst(table: Table, backlog: str, statistics: str) -> Iterator[list[int]]:
    """A burst of jobs, on a table whose statistics know nothing of it (fresh) or have
    been taken since (analyzed); returns the jobs a claim must take."""
    yield table.ready(backlog, analyzed=statistics == "analyzed")
    db.session.remove()


@pytest.fixture
def writes(table: Table, burst: list[int]) -> Iterator[None]:
    """The test commits a claim (PostgreSQL's claim commits on its own, in autocommit);
    its jobs are given back after it, as they were seeded (a claim writes their lease
    only), for the tests that follow."""
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        connection.execute(sa.update(jobs).where(jobs.c.locked_by == LEASE.worker)
                           .values(locked_by=None, locked_until=None))
    table.dead = table.dead or db.engine.dialect.name == "postgresql"


ANALYZE = {"postgresql": "ANALYZE jobs", "sqlite": "ANALYZE", "mysql": "ANALYZE TABLE jobs",
           "mariadb": "ANALYZE TABLE jobs"}


def claim(connection: sa.Connection) -> list[int]:
    """SQLite's and MariaDB's claim, without the read of the jobs' requests that follows."""
    return claim_due(connection, LEASE, due_by=T0, now=T0, limit=BATCH)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_locking_read_walks_the_due_index_and_stops_at_the_batch(burst) -> None:
    """PostgreSQL: the plan lock_due_jobs runs, with its rows and pages counted."""
    with db.engine.connect() as connection:
        plan = plans.explain_locking_read(connection, due_by=T0, now=T0, limit=BATCH)
    shown = plans.describe(plan)
    assert plan["Actual Rows"] == BATCH, shown
    assert plans.rows_read(plan) <= MAX_ROWS, shown
    assert plans.buffers(plan) <= MAX_BUFFERS, shown
    assert "ix_jobs_due" in shown or "ix_jobs_created_at" in shown, shown
    assert not [node for node in plans.plan_nodes(plan)
                if node["Node Type"] in ("Sort", "Seq Scan", "Bitmap Heap Scan")], shown


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_claim_statement_reads_a_few_pages(burst, writes) -> None:
    """PostgreSQL: the statement the digest sends (claim, lease and the jobs' requests),
    pages counted over everything it ran, the function's query included."""
    statement, parameters = plans.sent_statement(
        lambda connection: dialect.POSTGRESQL.claim(connection, LEASE, due_by=T0, now=T0,
                                                    limit=BATCH),
        "lock_due_jobs")
    with db.engine.connect() as connection:
        plan = plans.explain_statement(connection, statement, parameters)
    # The lease's writes and the requests' reads come on top of the locking read's pages:
    # 140 to 148 when the module runs alone, up to 296 seen within the whole suite, against
    # thousands for a walk of the backlog (its jobs and their requests).
    assert plans.buffers(plan) <= 3 * MAX_BUFFERS, plans.describe(plan)


@pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)
def test_a_claim_reads_few_rows_on_mariadb(burst) -> None:
    """MariaDB: the rows InnoDB handed over during the claim (its handler statistics)."""
    with db.engine.connect() as connection:
        reads = plans.handler_reads(connection, claim)
        connection.rollback()
    assert reads <= MAX_HANDLER_READS, f"{reads} rows read to claim {BATCH}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_claim_does_not_scan_the_backlog_on_sqlite(burst) -> None:
    """SQLite: the claim's query walks ix_jobs_due in order, and the virtual machine
    runs a few instructions per job it takes, not per job in the backlog."""
    with db.engine.connect() as connection:
        steps = plans.vm_steps(connection, claim)
        connection.rollback()
        plan = plans.sqlite_plan(connection, due_jobs.SQLITE_DUE.text, {
            "due_by": str(T0), "now": str(T0), "limit": BATCH})
    assert steps <= MAX_VM_STEPS, f"{steps * 100} instructions to claim {BATCH}"
    assert plan.startswith("SCAN jobs USING INDEX ix_jobs_due") and "TEMP B-TREE" not in plan, plan


def test_a_claim_takes_the_first_unblocked_jobs_of_a_burst(burst, backlog, writes) -> None:
    """The digest's claim on each database (committed): by priority, then age."""
    with db.engine.connect() as connection:
        claimed = dialect.for_connection(connection).claim(
            connection, LEASE, due_by=T0, now=T0, limit=BATCH).ids
        leased = connection.scalars(
            sa.select(jobs.c.id).where(jobs.c.locked_by == LEASE.worker)).all()
        priorities = set(connection.scalars(
            sa.select(jobs.c.priority).where(jobs.c.id.in_(claimed))))
    assert claimed == burst and sorted(leased) == sorted(burst)
    assert priorities == ({10} if backlog == "mixed priorities" else {0})
