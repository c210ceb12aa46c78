"""Many digests at once, as real processes, on every database: claims, leases, recovery.

Each digest is ``flask --app dashboard digest`` in a subprocess; the ``recorded`` request
type (tests/support/concurrency_types.py) writes every execution to a table of its own.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from dashboard.queue import DigestRun, Job, JobState, RequestState
from dashboard.queue.digest.job_digest import INTERRUPTED
from tests.support.concurrency import (
    LEASE,
    assert_clean_exit,
    assert_in_order,
    executed,
    history,
    job_states,
    lease_expired,
    most_at_once,
    recorded_job,
    requests_of,
    running,
    save,
    stop_when_all_completed,
)
from tests.support.processes import wait_until

#: Jobs of the four-digest test (3,000 requests): each digest claims batches of them
#: many times over while the others do. CONCURRENCY_JOBS makes it longer, or shorter but
#: never below a few hundred.
JOBS = int(os.environ.get("CONCURRENCY_JOBS", "1000"))
#: Requests each digest runs at once in the tests of concurrent digests.
AT_ONCE = {"QUEUE_CONCURRENCY": 8}


@pytest.mark.slow
def test_four_digests_at_once_run_every_request_once_and_in_order(session, digests):
    # A fifth of the jobs in 50 relations, the others free to run side by side.
    jobs = save(session, [recorded_job(relation=f"cust-{n % 50}" if n % 5 == 0 else None)
                          for n in range(JOBS)])
    request_ids = {r.id for job in jobs for r in job.requests}
    started = time.monotonic()
    running_digests = [digests.start(QUEUE_MAX_JOBS_PER_RUN=JOBS, **AT_ONCE)
                       for _ in range(4)]
    for process in running_digests:
        process.wait(timeout=300)
    seconds = time.monotonic() - started
    for process in running_digests:
        assert_clean_exit(process)

    assert job_states(session) == {JobState.COMPLETED: JOBS}
    rows = executed(session)
    assert Counter(r.request_id for r in rows) == dict.fromkeys(request_ids, 1)
    assert all(r.finished is not None for r in rows)
    outcomes = Counter(session.scalars(sa.text("SELECT outcome FROM attempts")))
    assert outcomes == {"succeeded": len(request_ids)}
    assert_in_order(rows)
    by_pid = Counter(r.pid for r in rows)
    assert len(by_pid) >= 2, f"the digests did not overlap: {by_pid}"
    at_once = most_at_once(rows)
    assert max(at_once.values()) > 1, f"no digest ran two requests at once: {at_once}"
    assert max(at_once.values()) <= 8, at_once
    print(f"{JOBS} jobs by 4 digests in {seconds:.1f}s; requests per digest: "
          f"{sorted(by_pid.values())}; most at once per digest: {sorted(at_once.values())}")


@pytest.mark.slow
def test_two_workers_keep_the_order_of_a_relation(session, digests):
    # One request in flight each: a digest then holds a batch at most while it works
    # through it, and the other claims what is left (at the default concurrency the first
    # to poll could claim every job that was not blocked, and run the relation alone).
    workers = [digests.start("--loop", "--interval", "0.05", "--concurrency", "1")
               for _ in range(2)]
    # Both are polling before the jobs arrive, so neither has them all to itself.
    for worker in workers:
        wait_until(lambda worker=worker: session.rollback() or session.scalar(
            sa.select(sa.func.count()).where(DigestRun.worker.contains(f":{worker.pid}:"))),
            what=f"{worker.name} to start")
    pause = {"sleep": 0.01}
    jobs = save(session, [
        recorded_job(pause, pause, pause, relation="cust-1" if n % 2 == 0 else None)
        for n in range(40)])
    stop_when_all_completed(session, workers, 40)

    rows = executed(session)
    assert Counter(r.request_id for r in rows) == {
        r.id: 1 for job in jobs for r in job.requests}
    assert_in_order(rows)
    relation_jobs = [r.job_id for r in rows if r.relation == "cust-1" and r.position == 0]
    assert relation_jobs == [job.id for job in jobs if job.relation_id == "cust-1"]
    assert len({r.pid for r in rows}) == 2
    print("jobs of cust-1 by digest:", Counter(
        r.pid for r in rows if r.relation == "cust-1" and r.position == 0))


@pytest.mark.slow
def test_a_digest_killed_mid_request_is_taken_over_once_its_lease_expires(session, digests):
    job, = save(session, [recorded_job({}, {"sleep": 60, "only_attempt": 1}, {})])
    killed = digests.start(**LEASE)
    wait_until(lambda: running(session, job, 1), what="request 2 to start")
    killed.send(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL

    wait_until(lambda: lease_expired(session, job), timeout=10, what="the lease to expire")
    recovery = digests.run(**LEASE)
    assert recovery.popen.returncode == 0, recovery.output
    assert f"job {job.id}: its digest's lease expired; taking it over" in recovery.stderr
    first, second, third = requests_of(session, job)
    assert (second.state, history(second)) == (RequestState.RETRYING, [("failed", INTERRUPTED)])
    # The first failure retries at the next run, not within the run that recorded it.
    finishing = digests.run(**LEASE)
    assert_clean_exit(finishing)

    first, second, third = requests_of(session, job)
    assert first.job.state == JobState.COMPLETED
    assert history(first) == history(third) == [("succeeded", None)]
    assert history(second) == [("failed", INTERRUPTED), ("succeeded", None)]
    runs = [(r.position, r.attempt, r.pid, r.finished is not None) for r in executed(session)]
    assert runs == [(0, 1, killed.pid, True), (1, 1, killed.pid, False),
                    (1, 2, finishing.pid, True), (2, 1, finishing.pid, True)]


@pytest.mark.slow
def test_a_lease_is_renewed_while_a_long_request_runs(session, digests):
    job, = save(session, [recorded_job({"sleep": 5}, {})])
    first = digests.start(**LEASE)
    wait_until(lambda: running(session, job, 0), what="request 1 to start")
    second = digests.start("--loop", "--interval", "0.2", **LEASE)
    first.wait(timeout=30)
    second.send(signal.SIGTERM)
    second.wait(timeout=30)
    assert_clean_exit(first)
    assert_clean_exit(second, stopped_by="SIGTERM")

    requests = requests_of(session, job)
    assert requests[0].job.state == JobState.COMPLETED
    assert [history(r) for r in requests] == [[("succeeded", None)]] * 2
    long_run = executed(session)[0]
    assert [(r.position, r.pid) for r in executed(session)] == [(0, first.pid), (1, first.pid)]
    # The second digest kept looking while the request ran past two leases.
    looked = session.scalars(sa.select(DigestRun.started_at).where(
        DigestRun.worker.contains(f":{second.pid}:"))).all()
    after_a_lease = datetime.fromtimestamp(long_run.started + 2.5, UTC)
    finished = datetime.fromtimestamp(long_run.finished, UTC)
    assert sum(after_a_lease < at < finished for at in looked) >= 3, looked


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_worker_finishes_its_request_and_gives_back_the_rest(
        session, digests, tmp_path, sig):
    marker = tmp_path / "go-on"
    held, *waiting = save(session, [
        recorded_job({}, {"until": str(marker)}, {}), recorded_job(), recorded_job()])
    # One job at a time: the other two are claimed in its batch, not started.
    worker = digests.start("--loop", "--interval", "0.2", QUEUE_CONCURRENCY=1)
    wait_until(lambda: running(session, held, 1), what="request 2 to start")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).where(Job.locked_by.is_not(None))) == 3
    worker.send(sig)
    wait_until(lambda: f"{sig.name} received" in worker.stderr, what="the signal taken")
    assert worker.popen.poll() is None, "the worker left its request unfinished"
    marker.touch()
    worker.wait(timeout=30)
    assert_clean_exit(worker, stopped_by=sig.name)

    first, second, third = requests_of(session, held)
    assert [r.state for r in (first, second, third)] == [
        RequestState.SUCCEEDED, RequestState.SUCCEEDED, RequestState.PENDING]
    assert history(second) == [("succeeded", None)]
    session.rollback()
    assert session.execute(sa.select(Job.state, Job.locked_by, Job.locked_until)).all() == [
        (JobState.PENDING, None, None)] * 3
    assert {r.job_id for r in executed(session)} == {held.id}

    assert_clean_exit(digests.run())
    assert job_states(session) == {JobState.COMPLETED: 3}
    assert Counter(r.request_id for r in executed(session)) == {
        r.id: 1 for job in (held, *waiting) for r in job.requests}


@pytest.mark.slow
def test_a_digest_killed_with_8_requests_in_flight_has_each_resumed_after_its_lease(
        session, digests):
    jobs = save(session, [recorded_job({}, {"sleep": 60, "only_attempt": 1}, {})
                          for _ in range(8)])
    killed = digests.start(**AT_ONCE, **LEASE)
    wait_until(lambda: all(running(session, job, 1) for job in jobs),
               what="8 requests in flight")
    killed.send(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL

    wait_until(lambda: all(lease_expired(session, job) for job in jobs), timeout=10,
               what="the leases to expire")
    recovery = digests.run(**AT_ONCE, **LEASE)
    assert recovery.popen.returncode == 0, recovery.output
    for job in jobs:
        assert f"job {job.id}: its digest's lease expired; taking it over" in recovery.stderr
        second = requests_of(session, job)[1]
        assert (second.state, history(second)) == (
            RequestState.RETRYING, [("failed", INTERRUPTED)])
    assert_clean_exit(digests.run(**AT_ONCE, **LEASE))

    for job in jobs:
        first, second, third = requests_of(session, job)
        assert first.job.state == JobState.COMPLETED
        assert history(first) == history(third) == [("succeeded", None)]
        assert history(second) == [("failed", INTERRUPTED), ("succeeded", None)]
    # No earlier request ran again: each first request once, by the killed digest.
    rows = executed(session)
    assert sorted((r.job_id, r.position, r.attempt) for r in rows) == sorted(
        (job.id, position, attempt) for job in jobs
        for position, attempt in ((0, 1), (1, 1), (1, 2), (2, 1)))
    assert {r.pid for r in rows if r.position == 0} == {killed.pid}
    assert most_at_once([r for r in rows if r.pid == killed.pid])[killed.pid] == 8


@pytest.mark.slow
def test_a_stopped_worker_drains_8_requests_in_flight_and_gives_every_job_back_at_once(
        session, digests, tmp_path):
    marker = tmp_path / "go-on"
    held = save(session, [recorded_job({}, {"until": str(marker)}, {}) for _ in range(8)])
    waiting = save(session, [recorded_job() for _ in range(3)])
    worker = digests.start("--loop", "--interval", "0.2", **AT_ONCE)
    wait_until(lambda: all(running(session, job, 1) for job in held),
               what="8 requests in flight")
    # The other three are claimed too (the claim after the first may come a moment later),
    # waiting for a thread.
    every = {job.id for job in (*held, *waiting)}

    def all_claimed() -> bool:
        session.rollback()
        return set(session.scalars(sa.select(Job.id).where(Job.locked_by.is_not(None)))) == every

    wait_until(all_claimed, what="the 11 jobs claimed")
    worker.send(signal.SIGTERM)
    wait_until(lambda: "SIGTERM received" in worker.stderr, what="the signal taken")
    assert worker.popen.poll() is None, "the worker left its requests unfinished"
    marker.touch()
    touched = time.monotonic()
    worker.wait(timeout=30)
    assert time.monotonic() - touched < 10
    assert_clean_exit(worker, stopped_by="SIGTERM")

    for job in held:
        first, second, third = requests_of(session, job)
        assert [r.state for r in (first, second, third)] == [
            RequestState.SUCCEEDED, RequestState.SUCCEEDED, RequestState.PENDING]
    session.rollback()
    assert session.execute(sa.select(Job.state, Job.locked_by, Job.locked_until)).all() == [
        (JobState.PENDING, None, None)] * 11
    assert {r.job_id for r in executed(session)} == {job.id for job in held}

    assert_clean_exit(digests.run(**AT_ONCE))
    assert job_states(session) == {JobState.COMPLETED: 11}
    assert Counter(r.request_id for r in executed(session)) == {
        r.id: 1 for job in (*held, *waiting) for r in job.requests}
