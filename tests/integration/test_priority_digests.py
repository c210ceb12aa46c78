"""Priorities under concurrent digests, as real processes, on every database."""

from __future__ import annotations

from collections import Counter

import pytest

from dashboard.queue import JobState
from tests.support.concurrency import assert_clean_exit, executed, job_states, recorded_job, save

HIGH, LOW = 50, -50
PAIRS = 60
#: Jobs a digest holds at once, at most: its threads' and a claim batch ahead of them.
CONCURRENCY, CLAIM_BATCH = 2, 10
HELD = CONCURRENCY + CLAIM_BATCH


@pytest.mark.slow
def test_two_digests_start_the_high_priority_jobs_first(session, digests):
    jobs = []
    for _ in range(PAIRS):  # each low job older than its high one: age alone would mix them
        for priority in (LOW, HIGH):
            job = recorded_job({"sleep": 0.01})
            job.priority = priority
            jobs.append(job)
    save(session, jobs)
    high = {job.id for job in jobs if job.priority == HIGH}
    running = [digests.start(QUEUE_MAX_JOBS_PER_RUN=2 * PAIRS, QUEUE_CONCURRENCY=CONCURRENCY)
               for _ in range(2)]
    for process in running:
        process.wait(timeout=300)
        assert_clean_exit(process)
    assert job_states(session) == {JobState.COMPLETED: 2 * PAIRS}

    started = [row.job_id for row in executed(session) if row.position == 0]
    assert Counter(started) == dict.fromkeys((job.id for job in jobs), 1)
    # When a low job starts, its digest found no high job left to claim: the high jobs not
    # started yet are those the digests held then, claimed but waiting for a thread.
    for n, job_id in enumerate(started):
        if job_id not in high:
            waiting = len(high - set(started[:n]))
            assert waiting <= 2 * HELD, (
                f"a low-priority job started with {waiting} high-priority jobs waiting: "
                f"{['H' if j in high else 'L' for j in started]}")
    assert len({row.pid for row in executed(session)}) == 2
