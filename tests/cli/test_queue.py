"""The queue's commands, as cron and operators run them."""

import time

import pytest
import sqlalchemy as sa

from dashboard import create_app
from dashboard.queue import Job, JobRepository, JobState
from tests.support.factories import save_job

pytestmark = pytest.mark.all_databases


def test_digest_prints_a_summary_and_exits_0_even_when_requests_fail(runner, session, clock):
    save_job(session, clock, ("test_echo", {}))
    save_job(session, clock, ("test_boom", {}))
    result = runner.invoke(args=["digest"])
    assert result.exit_code == 0, result.output
    # Standard output: the summary; the log lines of each request go to standard error.
    assert result.stdout.startswith(
        "digest: 2 jobs run, 1 requests succeeded, 0 failed, 1 retrying, in ")


def test_digest_max_jobs(runner, session, clock):
    for n in range(3):
        save_job(session, clock, ("test_echo", {"n": n}))
    result = runner.invoke(args=["digest", "--max-jobs", "2"])
    assert "digest: 2 jobs run" in result.output


def test_digest_one_job(runner, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    other = save_job(session, clock, ("test_echo", {"other": 1}))
    result = runner.invoke(args=["digest", "--job", str(job.id)])
    assert result.exit_code == 0, result.output
    assert "1 jobs run" in result.output
    session.expire_all()
    assert JobRepository(session).get(other.id).state == JobState.PENDING


@pytest.mark.parametrize(("args", "message"), [
    (["digest", "--job", "999999"], "job 999999 does not exist"),
])
def test_digest_one_job_refusals(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output


def test_digest_one_blocked_job_is_refused(runner, session, clock):
    first = save_job(session, clock, ("test_echo", {}), relation_id="c")
    second = save_job(session, clock, ("test_echo", {"n": 2}), relation_id="c")
    result = runner.invoke(args=["digest", "--job", str(second.id)])
    assert result.exit_code == 1
    assert f"blocked by job #{first.id}" in result.output


def test_digest_concurrency_runs_jobs_side_by_side(runner, session, clock):
    for n in range(6):
        save_job(session, clock, ("test_echo", {"n": n}))
    result = runner.invoke(args=["digest", "--concurrency", "3"])
    assert result.exit_code == 0, result.output
    assert "digest: 6 jobs run, 6 requests succeeded" in result.stdout
    session.expire_all()
    assert set(session.scalars(sa.select(Job.state))) == {JobState.COMPLETED}


@pytest.mark.parametrize(("value", "message"), [
    ("0", "Invalid value for '--concurrency': 0 is not in the range x>=1"),
    ("many", "Invalid value for '--concurrency': 'many' is not a valid integer"),
])
def test_a_bad_concurrency_is_refused_with_exit_code_2(runner, session, clock, value, message):
    job = save_job(session, clock, ("test_echo", {}))
    result = runner.invoke(args=["digest", "--concurrency", value])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    session.expire_all()
    assert session.get(Job, job.id).state == JobState.PENDING


def test_the_concurrency_flag_alone_runs_hundreds_on_the_default_connections(
        runner, session, clock):
    # Once refused: "needs 503 database connections, but the engine's pool gives at most 21".
    jobs = [save_job(session, clock, ("test_sleeps", {"seconds": 0.5})) for _ in range(300)]
    result = runner.invoke(args=["digest", "--concurrency", "500"])
    assert result.exit_code == 0, result.output
    assert "digest: 300 jobs run, 300 requests succeeded" in result.stdout
    session.expire_all()
    assert {session.get(Job, job.id).state for job in jobs} == {JobState.COMPLETED}


def test_job_and_loop_do_not_mix(runner):
    result = runner.invoke(args=["digest", "--job", "1", "--loop"])
    assert result.exit_code == 2
    assert "can't be used together" in result.output


def test_digest_against_an_unmigrated_database_says_what_to_do(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    result = app.test_cli_runner().invoke(args=["digest"])
    assert result.exit_code == 1
    assert "run `flask --app dashboard db upgrade` first" in result.output


def test_digest_against_an_unreachable_server_fails_clearly_after_one_wait(tmp_path):
    """Waited for once, QUEUE_DB_WAIT_SECONDS in all: not again for each connection that a
    transaction's retry asks for (that took twice the wait, and three minutes by default)."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        "QUEUE_DB_WAIT_SECONDS": 3,
    })
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["digest"])
    took = time.monotonic() - started
    assert result.exit_code == 1
    assert "trying again for up to 3s" in result.output
    assert "Error: the database could not be used: " in result.output
    assert "Traceback" not in result.output
    assert 3 <= took < 5.5, f"gave up after {took:.1f}s"


def test_enqueue(runner, session):
    result = runner.invoke(args=[
        "enqueue", "test_echo", "--payload", '{"customer_id": 42}', "--relation-id", "cust-42",
        "--store-id", "3"])
    assert result.exit_code == 0, result.output
    job = session.scalars(sa.select(Job)).one()
    assert result.output == f"enqueued job {job.id}\n"
    assert (job.relation_id, job.store_id) == ("cust-42", 3)
    assert job.requests[0].payload == '{"customer_id": 42}'


@pytest.mark.parametrize(("args", "message"), [
    (["enqueue", "test_echo", "--payload", "{not json"], "not valid JSON"),
    (["enqueue", "", "--payload", "{}"], "type code must be a non-empty string"),
    (["enqueue", "test_echo"], "Missing option '--payload'"),
    (["enqueue", "test_echo", "--payload", "{}", "--store-id", "x"], "is not a valid integer"),
])
def test_enqueue_refuses_bad_input_with_exit_code_2(runner, session, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert message in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_demo_seed_then_digest(runner, session):
    import dashboard.queue.demo  # noqa: F401 - the demo types, as QUEUE_TYPES=dashboard.queue.demo does

    assert runner.invoke(args=["demo-seed", "--jobs", "8"]).output == "enqueued 8 demo jobs\n"
    result = runner.invoke(args=["digest"])
    assert "8 jobs run" in result.output
    states = set(session.scalars(sa.select(Job.state)))
    assert JobState.COMPLETED in states and JobState.FAILED in states
