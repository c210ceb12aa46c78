"""Connector limits shared by real digest processes, on every database: one rate and one
count of calls in flight for all of them, and no slot lost to a killed digest."""

from __future__ import annotations

import signal
from bisect import bisect_left
from collections import Counter

import pytest
import sqlalchemy as sa

from dashboard.queue import DigestRun, JobState
from dashboard.queue.jobs.models import ConnectorCall, ConnectorRow
from tests.support.concurrency import (
    LEASE,
    assert_clean_exit,
    executed,
    job_states,
    running,
    save,
    stop_when_all_completed,
)
from tests.support.factories import make_job
from tests.support.limited_types import MODULES, RATE_20, THREE_SLOTS
from tests.support.processes import wait_until

TYPES = {"QUEUE_TYPES": MODULES}
#: How many intervals late a call may start after its turn (see the rate test).
LATE_TURNS = 3


def jobs_of(type_code: str, count: int, **payload) -> list:
    return [make_job((type_code, {"n": n, **payload})) for n in range(count)]


def busiest_second(starts: list[float]) -> int:
    """The most calls that started within any one second, [t, t + 1)."""
    starts = sorted(starts)
    return max(bisect_left(starts, t + 1.0) - i for i, t in enumerate(starts))


def most_at_once(rows) -> int:
    """The most executions that overlapped in time."""
    events = sorted([(r.started, 1) for r in rows] + [(r.finished, -1) for r in rows])
    now = peak = 0
    for _, step in events:  # an end sorts before a start at the same instant
        now += step
        peak = max(peak, now)
    return peak


def connector_state(session, name: str) -> tuple[int, int]:
    """The connector's count of calls in flight, and its call rows."""
    session.rollback()
    return (session.scalar(sa.select(ConnectorRow.in_flight).where(ConnectorRow.name == name)),
            session.scalar(sa.select(sa.func.count()).where(ConnectorCall.connector == name)))


@pytest.mark.slow
def test_two_digests_share_one_rate_limit(session, digests):
    count = 100
    save(session, jobs_of("rate_limited", count))
    both = [digests.start(**TYPES) for _ in range(2)]
    for process in both:
        process.wait(timeout=120)
        assert_clean_exit(process)

    rows = executed(session)
    assert job_states(session) == {JobState.COMPLETED: count}
    assert len(rows) == count
    assert len({r.pid for r in rows}) == 2, "the digests did not overlap"
    starts = [r.started for r in rows]
    # 20 a second, one interval apart: a second holds 20 turns, 21 when its both ends
    # fall on one. A call starts at its turn or later, by the commit that booked it and by
    # the scheduler: on a loaded machine up to about three intervals (22 calls started
    # within one second on MariaDB once), which a second's count can't tell from a burst.
    # The run's length below is what bounds the rate.
    assert busiest_second(starts) <= RATE_20.rate_limit + 1 + LATE_TURNS
    # The limit is what held them back: at 20 a second the calls took their 5 seconds.
    assert max(starts) - min(starts) >= (count - 1) / RATE_20.rate_limit * 0.95
    assert connector_state(session, RATE_20.name) == (0, 0)
    print(f"busiest second: {busiest_second(starts)} calls; by digest: "
          f"{sorted(Counter(r.pid for r in rows).values())}")


@pytest.mark.slow
def test_five_digests_never_have_more_calls_in_flight_than_the_limit(session, digests):
    count = 30
    # One job at a time each: what is shown is that processes share the slots (threads of
    # one digest share them too: test_connector_limits.py).
    workers = [digests.start("--loop", "--interval", "0.1", "--concurrency", "1", **TYPES)
               for _ in range(5)]
    # All five polling before the jobs arrive, so that more than three ask for a slot at
    # once (the first to start could otherwise run them one after the other on a loaded
    # host, before the others were up).
    for worker in workers:
        wait_until(lambda worker=worker: session.rollback() or session.scalar(
            sa.select(sa.func.count()).where(DigestRun.worker.contains(f":{worker.pid}:"))),
            what=f"{worker.name} to start")
    save(session, jobs_of("slot_limited", count, sleep=0.5))
    stop_when_all_completed(session, workers, count)

    rows = executed(session)
    assert Counter(r.request_id for r in rows).most_common(1)[0][1] == 1
    assert len(rows) == count
    assert most_at_once(rows) == THREE_SLOTS.max_in_flight
    assert len({r.pid for r in rows}) >= 3
    assert connector_state(session, THREE_SLOTS.name) == (0, 0)
    # Waiting for a slot is not a failure.
    session.rollback()
    assert session.scalar(sa.text("SELECT count(*) FROM attempts WHERE outcome = 'failed'")) == 0


@pytest.mark.slow
def test_the_slot_of_a_killed_digest_comes_back_when_its_lease_runs_out(session, digests):
    held, = save(session, [make_job(("one_slot_recorded", {"sleep": 60, "only_attempt": 1}))])
    killed = digests.start(**TYPES, **LEASE)
    wait_until(lambda: running(session, held, 0), what="the first call to start")
    killed.send(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert connector_state(session, "test_one_slot_recorded") == (1, 1)

    waiting, = save(session, [make_job(("one_slot_recorded", {}))])
    # It finds the slot taken, and waits: within its wait the killed digest's lease runs
    # out and the slot comes back.
    after = digests.run(**TYPES, **LEASE, QUEUE_LIMIT_WAIT=10)
    assert_clean_exit(after, expected=("took back 1 call slots", "lease expired"))
    assert "connector test_one_slot_recorded: took back 1 call slots" in after.stderr
    session.rollback()
    runs = [(r.job_id, r.finished is not None) for r in executed(session)]
    assert (waiting.id, True) in runs

    # The killed call gets its "interrupted" attempt; its retry is due at the next run.
    recovering = digests.run(**TYPES, **LEASE)
    assert_clean_exit(recovering, expected=("lease expired",))
    finishing = digests.run(**TYPES, **LEASE)
    assert_clean_exit(finishing, expected=("lease expired",))
    assert job_states(session) == {JobState.COMPLETED: 2}
    assert connector_state(session, "test_one_slot_recorded") == (0, 0)
