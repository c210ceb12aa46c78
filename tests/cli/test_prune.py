"""flask --app dashboard prune, as cron runs it nightly."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobDigest
from dashboard.queue.operations import actions
from tests.support.clock import Clock
from tests.support.factories import save_job

pytestmark = pytest.mark.all_databases

#: Long before the real clock, which the command uses: these jobs are older than any cutoff.
LONG_AGO = datetime(2020, 1, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def old_jobs(session):
    clock = Clock(LONG_AGO)
    completed = save_job(session, clock, ("test_echo", {}))
    JobDigest(session, clock=clock).set_job(completed).execute()
    cancelled = save_job(session, clock, ("test_echo", {"n": 2}))
    actions.apply(session, "cancel", cancelled.id, clock.now)
    session.commit()
    failed = save_job(session, clock, ("test_not_applicable", {}))
    JobDigest(session, clock=clock).set_job(failed).execute()
    pending = save_job(session, clock, ("test_echo", {"n": 3}))
    return {"completed": completed.id, "cancelled": cancelled.id, "failed": failed.id,
            "pending": pending.id}


def kept(session):
    session.expire_all()
    return set(session.scalars(sa.select(Job.id)))


def test_prune_deletes_and_says_how_many(runner, session, old_jobs):
    result = runner.invoke(args=["prune", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "prune: deleted 2 completed or cancelled jobs (2 requests, 1 attempts) finished before ")
    assert kept(session) == {old_jobs["failed"], old_jobs["pending"]}


def test_failed_when_named(runner, session, old_jobs):
    result = runner.invoke(args=["prune", "--older-than", "2w", "--state", "failed"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 failed jobs (1 requests, 1 attempts)" in result.output
    assert old_jobs["failed"] not in kept(session)


def test_dry_run(runner, session, old_jobs):
    result = runner.invoke(args=["prune", "--older-than", "30d", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "prune: would delete 2 completed or cancelled jobs" in result.output
    assert kept(session) == set(old_jobs.values())


def test_nothing_to_prune(runner):
    result = runner.invoke(args=["prune", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert "prune: deleted 0 completed or cancelled jobs (0 requests, 0 attempts)" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--older-than", "30x"], "'30x' is not an age"),
    (["--older-than", "30"], "write a whole number and a unit"),
    ([], "Missing option '--older-than'"),
    (["--older-than", "30d", "--state", "completed,done"], "unknown state 'done'"),
    (["--older-than", "30d", "--state", "pending"], "pending jobs are not finished"),
])
def test_bad_input_is_exit_code_2_and_deletes_nothing(runner, session, old_jobs, args, message):
    result = runner.invoke(args=["prune", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert kept(session) == set(old_jobs.values())


def test_database_down_is_exit_code_1():
    from dashboard import create_app
    from tests.support.network import free_port

    app = create_app({"SQLALCHEMY_DATABASE_URI":
                      f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/q"})
    result = app.test_cli_runner().invoke(args=["prune", "--older-than", "30d"])
    assert result.exit_code == 1
    assert "Error: the database could not be used: " in result.output
    assert "Traceback" not in result.output
