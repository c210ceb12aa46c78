"""The statements a digest step and a save send, counted on their way to the server.

On PostgreSQL the fast path (dialect.PostgreSQL) does each in one statement: a claim with
its jobs' requests, a step (a request's outcome and the next request's start) and a save
of a job with its requests. Were it off, the general way's transactions of several
statements would be sent instead, and these counts would change. SQLite and MariaDB keep
counts of their own (BEGIN IMMEDIATE is one of SQLite's).
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue import JobDigest, JobRepository, QueueSettings
from tests.support.driver import on_the_driver
from tests.support.factories import make_job, save_job
from tests.support.statements import sent_statements as counted

#: Statements per database kind: a save of one job of two requests. (SQLite can't keep
#: the order of a multi-row INSERT's RETURNING: SQLAlchemy sends a row at a time.)
SAVE = {"postgresql": 1, "sqlite": 4, "mariadb": 2}
#: A digest run of one job of one request, the run's own records included: its process
#: row for the Digests page (a DELETE and an INSERT at the start, a DELETE at the end) and
#: the pruning of old history at its end (a SELECT each for runs, sent alerts and hours);
#: on PostgreSQL, the run's record committed without a wait for the log's flush.
ONE_JOB_RUN = {"postgresql": 15, "sqlite": 26, "mariadb": 22}
#: Each further job of one request in that run (its claim in the same batch): its start
#: and its outcome, a step each. (Run one after the other in the digest's thread, a job's
#: outcome and the next job's start once shared a step; in the digest's threads they
#: are steps of two jobs, which share a transaction only when they come close together,
#: see steps.py, and never at concurrency 1.)
EACH_FURTHER_JOB = {"postgresql": 2, "sqlite": 7, "mariadb": 5}


def kind() -> str:
    name = db.engine.dialect.name
    return "mariadb" if name == "mysql" else name


def test_a_save_sends_its_count_of_statements(session, clock):
    job = make_job(("test_echo", {"n": 1}), ("test_echo", {"n": 2}))
    session.commit()
    with counted() as sent:
        JobRepository(session, clock).save(job)
    assert len(sent()) == SAVE[kind()], sent()
    assert [r.id is not None for r in job.requests] == [True, True]


def digest_run(session, clock, jobs: int) -> list[str]:
    for n in range(jobs):
        save_job(session, clock, ("test_echo", {"n": n}))
    # Concurrency 1: the steps go one after the other on one connection; a long lease:
    # no heartbeat comes within the run.
    digest = JobDigest(session, settings=QueueSettings(lease_seconds=3600), clock=clock,
                       concurrency=1)
    session.commit()
    with counted() as sent:
        result = digest.execute()
    assert result.succeeded == jobs
    return sent()


def test_a_digest_step_sends_its_count_of_statements(session, clock):
    one = digest_run(session, clock, 1)
    assert len(one) == ONE_JOB_RUN[kind()], one
    three = digest_run(session, clock, 3)
    assert len(three) - len(one) == 2 * EACH_FURTHER_JOB[kind()], three


def test_on_postgresql_a_runs_record_does_not_wait_for_the_logs_flush(session, clock):
    if kind() != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    sent = digest_run(session, clock, 1)
    record = next(n for n, s in enumerate(sent) if s.startswith("INSERT INTO digest_runs"))
    assert sent[record - 1] == "SET LOCAL synchronous_commit TO OFF", sent
    # Only the run's record: the claim and the steps wait for their flush, as always.
    assert sent.count("SET LOCAL synchronous_commit TO OFF") == 1, sent


def test_on_postgresql_a_save_goes_to_the_driver_as_one_statement(session, clock):
    # With nothing listening to the engine, the save skips SQLAlchemy's execution
    # (driver_path.DriverStatement): one statement on the driver, in autocommit, and no
    # Connection made for it.
    if kind() != "postgresql":
        pytest.skip("PostgreSQL's driver path")
    job = make_job(("test_echo", {"n": 1}), ("test_echo", {"n": 2}))
    session.commit()
    with on_the_driver(db.engine) as log:
        JobRepository(session, clock).save(job)
    assert log.sent == [("WITH new_job AS", True)]
    assert log.connections == []
    assert [r.id is not None for r in job.requests] == [True, True]


def test_on_postgresql_saves_reuse_their_connections_cursor(session, clock):
    # A pooled connection keeps the cursor the driver path made on it: a new cursor would
    # look up the parameters' adapters again, 5-10% of a one-job save's time.
    if kind() != "postgresql":
        pytest.skip("PostgreSQL's driver path")
    session.commit()
    repository = JobRepository(session, clock)
    for n in range(10):  # each connection of the pool saves once: its cursor is made
        repository.save(make_job(("test_echo", {"n": n})))
    with on_the_driver(db.engine) as log:
        jobs = [repository.save(make_job(("test_echo", {"n": n}))) for n in range(10)]
    assert log.sent == [("WITH new_job AS", True)] * 10
    assert log.cursors == 0
    assert len({job.id for job in jobs}) == 10


def test_on_postgresql_a_statement_that_fails_on_the_driver_leaves_its_cursor_usable(app):
    # The kept cursor outlives a statement the server refused: the next one on the same
    # connection runs, and the error came out as SQLAlchemy's.
    if kind() != "postgresql":
        pytest.skip("PostgreSQL's driver path")
    from dashboard.queue.database.driver_path import DriverStatement

    engine = sa.create_engine(db.engine.url, pool_size=1, max_overflow=0)
    number = DriverStatement(sa.select(sa.cast(sa.bindparam("text", type_=sa.Text),
                                               sa.Integer)))
    try:
        engine.connect().close()  # the dialect's first queries, before the count
        with on_the_driver(engine) as log:
            assert number.rows(engine, {"text": "7"}) == [(7,)]
            with pytest.raises(sa.exc.DataError):
                number.rows(engine, {"text": "seven"})
            assert number.rows(engine, {"text": "8"}) == [(8,)]
        assert log.cursors == 1 and len(log.sent) == 3
    finally:
        engine.dispose()


def test_on_postgresql_a_save_shows_in_sqlalchemys_log(session, clock, caplog):
    # The driver path steps aside while SQLAlchemy logs statements (echo=True does it).
    if kind() != "postgresql":
        pytest.skip("PostgreSQL's driver path")
    job = make_job(("test_echo", {"n": 1}))
    session.commit()
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
        JobRepository(session, clock).save(job)
    assert any("INSERT INTO jobs" in record.getMessage() for record in caplog.records)
