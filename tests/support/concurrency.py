"""Jobs of ``recorded`` requests, and what the tests that run digests as processes check:
what ran (the ``executions`` table), in which order, and how each digest ended."""

from __future__ import annotations

import signal
from collections import Counter, defaultdict
from itertools import pairwise
from typing import Any

import sqlalchemy as sa

from dashboard.db import Base, utcnow
from dashboard.queue import Job, JobRepository, JobState, Request
from tests.support.concurrency_types import TYPE_CODE, executions
from tests.support.factories import make_job
from tests.support.processes import DigestProcess, wait_until

#: A short lease, so that tests see it expire.
LEASE = {"QUEUE_LEASE_SECONDS": 2}


def recorded_job(*holds: dict[str, Any], relation: str | None = None) -> Job:
    """A job of one ``recorded`` request per entry of ``holds`` (default: three, no hold)."""
    holds = holds or ({}, {}, {})
    return make_job(*((TYPE_CODE, {"step": n, **hold}) for n, hold in enumerate(holds)),
                    relation_id=relation)


def save(session, jobs: list[Job]) -> list[Job]:
    """Save the jobs now, by the real clock the digest processes go by."""
    # In a transaction of its own: on SQLite, one that has read before a digest wrote
    # can't write at all ("database is locked" at once, whatever the busy timeout).
    session.rollback()
    jobs = JobRepository(session, utcnow).save_many(jobs)
    if session.get_bind().dialect.name == "postgresql":
        # As autovacuum does soon after a bulk enqueue: without statistics on a fresh
        # table the planner walks every due job on each claim.
        session.execute(sa.text("ANALYZE jobs"))
        session.commit()
    return jobs


def forget_statistics(connection: sa.Connection) -> None:
    """On PostgreSQL, empty the queue's tables and analyze them empty, so that statistics
    taken of a big backlog do not steer the plans and estimates of the tests that follow."""
    if connection.dialect.name != "postgresql":
        return
    for table in reversed(Base.metadata.sorted_tables):
        connection.execute(table.delete())
    connection.exec_driver_sql("ANALYZE jobs")


def executed(session) -> list[sa.Row]:
    """Every execution so far, in the order they started."""
    session.rollback()
    return session.execute(sa.select(executions).order_by(executions.c.id)).all()


def running(session, job: Job, position: int) -> bool:
    """The request at ``position`` of ``job`` has started and not finished."""
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).where(
        executions.c.job_id == job.id, executions.c.position == position,
        executions.c.finished.is_(None))) == 1


def lease_expired(session, job: Job) -> bool:
    session.rollback()
    until = session.scalar(sa.select(Job.locked_until).where(Job.id == job.id))
    return until is not None and until < utcnow()


def history(request: Request) -> list[tuple[str, str | None]]:
    """(outcome, error) of each attempt of the request."""
    return [(attempt.outcome, attempt.error) for attempt in request.history]


def job_states(session) -> Counter:
    session.rollback()
    return Counter(session.scalars(sa.select(Job.state)))


def requests_of(session, job: Job) -> list[Request]:
    """The job's requests (with ``.job`` and ``.history``) as stored now."""
    session.rollback()
    session.expire_all()
    return JobRepository(session).get(job.id).requests


def kill_connections(session, ports: list[int]) -> int:
    """Kill, on the server, the connections that come from these client ports."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        killed = session.scalars(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE client_port = ANY(:ports)"), {"ports": ports}).all()
    else:
        killed = session.scalars(sa.text(
            "SELECT id FROM information_schema.processlist "
            "WHERE SUBSTRING_INDEX(host, ':', -1) IN :ports"
        ).bindparams(sa.bindparam("ports", expanding=True)),
            {"ports": [str(p) for p in ports]}).all()
        for connection_id in killed:
            session.execute(sa.text(f"KILL CONNECTION {int(connection_id)}"))
    session.commit()
    return len(killed)


def assert_in_order(rows: list[sa.Row]) -> None:
    """Requests of a job ran one after the other in position order; jobs of a relation
    in creation (id) order, each after the previous one had finished."""
    by_job = defaultdict(list)
    relation_jobs = defaultdict(list)
    for row in rows:
        by_job[row.job_id].append(row)
        if row.relation is not None and row.job_id not in relation_jobs[row.relation]:
            relation_jobs[row.relation].append(row.job_id)
    for job_id, runs in by_job.items():
        assert [r.position for r in runs] == sorted(r.position for r in runs), job_id
        for before, after in pairwise(runs):
            assert after.started >= before.finished, (job_id, before, after)
    for relation, job_ids in relation_jobs.items():
        assert job_ids == sorted(job_ids), relation
        for before, after in pairwise(job_ids):
            assert by_job[after][0].started >= by_job[before][-1].finished, (relation, before)


def most_at_once(rows: list[sa.Row]) -> dict[int, int]:
    """The most executions each digest process (pid) had running at one time."""
    events = defaultdict(list)
    for row in rows:
        events[row.pid] += [(row.started, 1), (row.finished or float("inf"), -1)]
    most = {}
    for pid, changes in events.items():
        now = peak = 0
        for _, change in sorted(changes):  # an end sorts before a start at the same time
            now += change
            peak = max(peak, now)
        most[pid] = peak
    return most


def assert_clean_exit(process: DigestProcess, *, stopped_by: str | None = None,
                      expected: tuple[str, ...] = ()) -> None:
    """Exit code 0 and nothing on stderr but the signal's notice and ``expected`` lines."""
    assert process.popen.returncode == 0, process.output
    allowed = expected + ((f"{stopped_by} received",) if stopped_by else ())
    for line in process.stderr.splitlines():
        assert any(text in line for text in allowed), process.output
    if stopped_by:
        assert f"{stopped_by} received" in process.stderr, process.output


def stop_when_all_completed(session, workers: list[DigestProcess], count: int) -> None:
    """Wait until ``count`` jobs, all there are, have completed; then SIGTERM the
    long-lived ``workers`` and check that each stopped cleanly."""
    wait_until(lambda: job_states(session) == {JobState.COMPLETED: count}, timeout=90,
               what="every job to complete")
    for worker in workers:
        worker.send(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)
        assert_clean_exit(worker, stopped_by="SIGTERM")
