"""A --loop digest rides out its database's restart: the calls in flight finish, their
outcomes are written once the server is back, and every job ends. On a PostgreSQL server
of the test's own (initdb in a temporary folder), never the shared one."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.db import utcnow
from dashboard.queue import Job, JobRepository, JobState
from dashboard.queue.engine_setup import engine_options, prepare_engine
from dashboard.queue.models import Attempt
from tests.support import own_postgres
from tests.support.concurrency import assert_clean_exit, executed, recorded_job, running
from tests.support.processes import wait_until
from tests.support.schema import migrate_to_head


@pytest.fixture
def server() -> Iterator[own_postgres.OwnPostgres]:
    why = own_postgres.available()
    if why:
        pytest.skip(f"no PostgreSQL server of the test's own: {why}")
    folder = Path(tempfile.mkdtemp(prefix="aq-restart-"))
    started = own_postgres.OwnPostgres(folder / "pg")
    yield started
    started.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def queue(server) -> Iterator[sa.Engine]:
    """The queue's schema on the server of the test's own, and an engine on it."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": server.url, "SECRET_KEY": "t" * 32})
    migrate_to_head(app)
    with app.app_context():  # its pooled connections would die with the restart, open
        db.engine.dispose()
    engine = sa.create_engine(server.url, **engine_options(server.url))
    prepare_engine(engine)
    yield engine
    engine.dispose()


def states(engine: sa.Engine) -> Counter:
    with engine.connect() as conn:
        return Counter(conn.scalars(sa.select(Job.state)))


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_loop_digest_rides_out_a_postgresql_restart(session, digests, server, queue, mode):
    with Session(queue) as own:
        jobs = JobRepository(own, utcnow).save_many(
            [recorded_job({"sleep": 3}, {}) for _ in range(12)])
    # The executions are recorded on the shared server, which stays up.
    worker = digests.start("--loop", "--interval", "0.2", url=server.url,
                           EXECUTIONS_URL=digests.url, QUEUE_CONCURRENCY=12)
    wait_until(lambda: all(running(session, job, 0) for job in jobs), timeout=60,
               what="12 calls in flight")
    queue.dispose()
    server.restart(mode)
    back = time.monotonic()
    wait_until(lambda: states(queue) == {JobState.COMPLETED: 12}, timeout=30,
               what="every job to complete within 30 s of the server's return")
    assert time.monotonic() - back < 30
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, worker.output
    assert "the database refused or lost the connection" in worker.stderr, worker.output
    assert_clean_exit(worker, stopped_by="SIGTERM",
                      expected=("the database refused or lost the connection",
                                "could not renew the lease",
                                # the restart ends the worker's LISTEN too; it listens again
                                "could not listen for new jobs"))
    # Each call ran once, and its success was recorded as such: no "interrupted" attempt.
    rows = executed(session)
    assert Counter(row.request_id for row in rows) == Counter(
        {r.id: 1 for job in jobs for r in job.requests})
    with queue.connect() as conn:
        outcomes = Counter(conn.scalars(sa.select(Attempt.outcome)))
    assert outcomes == {"succeeded": 24}
