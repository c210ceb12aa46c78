"""A ``--loop`` worker picks up work in milliseconds, not at its next interval: NOTIFY on
PostgreSQL, an adaptive poll on SQLite and MariaDB, a timer for jobs that come due later;
it is on the Digests page while it lives; a digest gives back at once the jobs of an
earlier digest of its host that was killed. Real digest processes, on every database."""

from __future__ import annotations

import signal
import time
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from dashboard.auth.roles import Role
from dashboard.db import utcnow
from dashboard.queue import DigestRun, Job, JobRepository, JobState
from dashboard.queue.digest.job_digest import INTERRUPTED
from dashboard.queue.jobs.models import DigestProcess
from dashboard.queue.operations import actions
from tests.support.concurrency import (
    assert_clean_exit,
    executed,
    history,
    recorded_job,
    requests_of,
    running,
    save,
)
from tests.support.concurrency_types import executions
from tests.support.processes import DigestProcess as Process
from tests.support.processes import wait_until
from tests.support.web import add_user, log_in

#: Far longer than any pickup the tests wait for: a job started sooner was not found by
#: the interval's fallback run.
INTERVAL = "120"


def idle(session, worker: Process) -> DigestProcess:
    """Wait until ``worker`` has ended a run (so it waits for work), its row written."""
    def ended_a_run() -> DigestProcess | None:
        session.rollback()
        ended = session.scalar(sa.select(sa.func.count()).where(
            DigestRun.worker.contains(f":{worker.pid}:"), DigestRun.finished_at.is_not(None)))
        row = session.scalar(sa.select(DigestProcess).where(DigestProcess.pid == worker.pid))
        return row if ended and row is not None else None

    return wait_until(ended_a_run, timeout=60, what=f"{worker.name} to wait for work")


def started_at(session, job_id: int) -> float | None:
    """When the job's first request started (seconds since the epoch), if it has."""
    session.rollback()
    return session.scalar(sa.select(sa.func.min(executions.c.started))
                          .where(executions.c.job_id == job_id))


@pytest.mark.slow
def test_a_loop_worker_starts_each_saved_job_at_once_not_at_its_interval(session, digests):
    worker = digests.start("--loop", "--interval", INTERVAL)
    idle(session, worker)
    waits = []
    for _ in range(3):
        saved = time.time()
        job, = save(session, [recorded_job({})])
        started = wait_until(lambda job=job: started_at(session, job.id), timeout=30,
                             what=f"job {job.id} to start")
        waits.append(started - saved)
    worker.send(signal.SIGTERM)
    worker.wait(timeout=30)
    assert_clean_exit(worker, stopped_by="SIGTERM")
    # Generous: the targets are 50 ms (PostgreSQL) and 500 ms (SQLite) at the median.
    assert max(waits) < 10, waits
    print("save to start, seconds:", [round(w, 3) for w in waits])


@pytest.mark.slow
def test_a_job_that_comes_due_later_wakes_the_worker_at_its_time(session, digests):
    worker = digests.start("--loop", "--interval", INTERVAL)
    idle(session, worker)
    session.rollback()
    job = recorded_job({})
    job.delay_seconds = 3
    job, = JobRepository(session, utcnow).save_many([job])
    run_at = job.next_attempt_at.replace(tzinfo=UTC).timestamp()
    started = wait_until(lambda: started_at(session, job.id), timeout=60,
                         what="the scheduled job to start")
    worker.send(signal.SIGTERM)
    worker.wait(timeout=30)
    assert_clean_exit(worker, stopped_by="SIGTERM")
    assert run_at <= started < run_at + 10, (started - run_at)


@pytest.mark.slow
def test_postgresql_wakes_the_worker_on_an_operators_resume(session, digests, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("an update notifies on PostgreSQL; SQLite and MariaDB see it at the "
                    "interval")
    job, = save(session, [recorded_job({})])
    actions.pause(session, job.id, utcnow())
    session.commit()
    worker = digests.start("--loop", "--interval", INTERVAL)
    idle(session, worker)
    assert started_at(session, job.id) is None
    resumed = time.time()
    actions.resume(session, job.id, utcnow())
    session.commit()
    started = wait_until(lambda: started_at(session, job.id), timeout=30,
                         what="the resumed job to start")
    worker.send(signal.SIGTERM)
    worker.wait(timeout=30)
    assert_clean_exit(worker, stopped_by="SIGTERM")
    assert started - resumed < 10


@pytest.mark.slow
def test_an_idle_loop_worker_is_on_the_digests_page_until_it_stops(app, session, digests):
    # Its heartbeat beats every second; it runs every second too, each run too short for
    # the run's own heartbeat to beat.
    worker = digests.start("--loop", "--interval", "1", QUEUE_LEASE_SECONDS=3)
    row = idle(session, worker)
    name, first_beat = row.worker, row.heartbeat_at
    client = log_in(app.test_client(), add_user(session, "ops", Role.VIEWER))
    # Idle, it keeps beating: a run's heartbeat is not what keeps it.
    wait_until(lambda: session.rollback() or session.scalar(
        sa.select(DigestProcess.heartbeat_at).where(DigestProcess.worker == name)
    ) > first_beat + timedelta(seconds=2), timeout=30, what="beats while idle")
    html = client.get("/digests").get_data(as_text=True)
    listed = html.split(f'<tr data-worker="{name}"')[1].split("</tr>")[0]
    assert f'<td class="num">{worker.pid}</td>' in listed
    assert '<td class="digest-state">idle</td>' in listed
    assert "stale-badge" not in listed
    session.rollback()
    row = session.get(DigestProcess, name)
    assert row.connections is not None and row.connections >= 1
    assert f'<td class="num connections">{row.connections}</td>' in listed
    assert '<td class="num hung">0</td>' in listed

    worker.send(signal.SIGTERM)
    worker.wait(timeout=30)
    assert_clean_exit(worker, stopped_by="SIGTERM")
    assert "No digest is running now" in client.get("/digests").get_data(as_text=True)


@pytest.mark.slow
def test_a_digest_gives_back_at_once_the_jobs_of_a_killed_digest_of_its_host(
        session, digests):
    # The lease is five minutes: only the start's check can explain a takeover in seconds.
    job, = save(session, [recorded_job({}, {"sleep": 60, "only_attempt": 1}, {})])
    killed = digests.start()
    wait_until(lambda: running(session, job, 1), what="request 2 to start")
    killed.send(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    session.rollback()
    until = session.scalar(sa.select(Job.locked_until).where(Job.id == job.id))
    assert until > utcnow() + timedelta(minutes=4)

    recovery = digests.run(LOG_LEVEL="INFO")
    assert recovery.popen.returncode == 0, recovery.output
    assert "of this host is gone; its jobs' leases end now" in recovery.stderr
    assert f"job {job.id}: its digest's lease expired; taking it over" in recovery.stderr
    _, second, _ = requests_of(session, job)
    assert history(second)[0] == ("failed", INTERRUPTED)
    finishing = digests.run()
    assert_clean_exit(finishing)
    assert requests_of(session, job)[0].job.state == JobState.COMPLETED
    assert [r.pid for r in executed(session)] == [killed.pid] * 2 + [finishing.pid] * 2
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(DigestProcess)) == 0
