"""Connector limits through the database, in one process, on every database: turns,
their release, waits, slots taken back from dead digests, and jobs given back."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue import Connector, JobDigest, JobRepository, JobState, QueueSettings
from dashboard.queue.database.write_lock import IMMEDIATE
from dashboard.queue.digest.limits import ConnectorBusy, ConnectorLimits, db_epoch
from dashboard.queue.jobs.models import ConnectorCall, ConnectorRow, Job, Request
from dashboard.queue.jobs.states import RequestState
from dashboard.queue.store.claims import Lease
from tests.support.factories import save_job
from tests.support.limited_types import ONE_SLOT, TEN_PER_SECOND

ALIVE, KILLED = Lease("host:1:alive", 300), Lease("host:2:killed", 300)


@pytest.fixture
def connect(app):
    """Connections of their own, as each digest (or digest thread) has."""
    opened = []

    def connect() -> sa.Connection:
        opened.append(db.engine.connect().execution_options(**{IMMEDIATE: True}))
        return opened[-1]

    yield connect
    for connection in opened:
        connection.close()


def held_job(session, clock, lease: Lease, *requests) -> Job:
    """A job that ``lease``'s digest holds, as after its claim."""
    job = save_job(session, clock, *(requests or [("test_echo", {})]))
    session.execute(sa.update(Job).where(Job.id == job.id).values(
        locked_by=lease.worker, locked_until=lease.until(clock.now)))
    session.commit()
    return job


def budget(session, name: str) -> tuple[int, list[str]]:
    """The connector's count of calls in flight, and the digests of its call rows."""
    session.rollback()
    count = session.scalar(sa.select(ConnectorRow.in_flight).where(ConnectorRow.name == name))
    workers = session.scalars(sa.select(ConnectorCall.worker).where(
        ConnectorCall.connector == name).order_by(ConnectorCall.id)).all()
    return count, workers


def test_calls_of_one_rate_limit_start_one_interval_apart_across_digests(
        session, clock, connect):
    job = held_job(session, clock, ALIVE)
    first, second = ConnectorLimits(ALIVE, 5), ConnectorLimits(KILLED, 5)
    a, b = connect(), connect()
    starts = []
    for limits, conn in ((first, a), (second, b), (first, a), (second, b)):
        turn = limits.acquire(conn, TEN_PER_SECOND, job.id, clock)
        starts.append(time.monotonic())
        limits.release(conn, turn)
    # 10 a second: each call's turn is 0.1 s after the one before, whichever digest took
    # it. A call starts at its turn, or later by the commit that booked it (hence 0.07).
    gaps = [after - before for before, after in itertools.pairwise(starts)]
    assert min(gaps) >= 0.07, gaps
    assert starts[-1] - starts[0] >= 0.27, gaps
    assert budget(session, TEN_PER_SECOND.name) == (0, [])


def test_a_full_connector_refuses_a_second_digest_until_the_first_call_ends(
        session, clock, connect):
    job = held_job(session, clock, ALIVE)
    first, second = ConnectorLimits(ALIVE, 0), ConnectorLimits(KILLED, 0)
    a, b = connect(), connect()
    turn = first.acquire(a, ONE_SLOT, job.id, clock)
    assert budget(session, ONE_SLOT.name) == (1, [ALIVE.worker])
    with pytest.raises(ConnectorBusy, match=r"'test_one_slot' has its 1 calls in flight "
                                            r"\(max_in_flight\); may run in 1.00s") as busy:
        second.acquire(b, ONE_SLOT, job.id, clock)
    assert busy.value.retry_in == 1.0
    first.release(a, turn)
    first.release(a, turn)  # a second release changes nothing
    assert budget(session, ONE_SLOT.name) == (0, [])
    again = ConnectorLimits(KILLED, 0)  # the first refusal is remembered by that digest
    assert again.acquire(b, ONE_SLOT, job.id, clock) is not None
    assert budget(session, ONE_SLOT.name) == (1, [KILLED.worker])


def test_a_digest_that_found_a_connector_busy_gives_its_next_requests_back_at_once(
        session, clock, connect):
    job = held_job(session, clock, ALIVE)
    ConnectorLimits(ALIVE, 0).acquire(connect(), ONE_SLOT, job.id, clock)
    limits, conn = ConnectorLimits(KILLED, 0.2), connect()
    with pytest.raises(ConnectorBusy, match="has its 1 calls in flight"):
        limits.acquire(conn, ONE_SLOT, job.id, clock)
    started = time.monotonic()
    with pytest.raises(ConnectorBusy, match="was found busy by this digest") as busy:
        limits.acquire(conn, ONE_SLOT, job.id, clock, max_wait=60)  # given back, not waited
    assert time.monotonic() - started < 30
    assert 0 < busy.value.retry_in <= 1.0


def test_a_request_waits_for_a_slot_that_frees_up_within_the_wait(session, clock, connect):
    job = held_job(session, clock, ALIVE)
    first, a = ConnectorLimits(ALIVE, 0), connect()
    turn = first.acquire(a, ONE_SLOT, job.id, clock)
    ending = threading.Timer(0.3, first.release, (a, turn))
    ending.start()
    started = time.monotonic()
    assert ConnectorLimits(KILLED, 10).acquire(connect(), ONE_SLOT, job.id, clock) is not None
    ending.join()
    assert 0.3 <= time.monotonic() - started < 5


def test_the_wait_for_a_full_connector_is_bounded(session, clock, connect):
    job = held_job(session, clock, ALIVE)
    ConnectorLimits(ALIVE, 0).acquire(connect(), ONE_SLOT, job.id, clock)
    started = time.monotonic()
    with pytest.raises(ConnectorBusy):
        ConnectorLimits(KILLED, 0.4).acquire(connect(), ONE_SLOT, job.id, clock)
    assert 0.4 <= time.monotonic() - started < 10


def test_a_slot_comes_back_once_the_lease_of_its_killed_digest_runs_out(
        session, clock, connect):
    job = held_job(session, clock, KILLED)
    ConnectorLimits(KILLED, 0).acquire(connect(), ONE_SLOT, job.id, clock)  # never released
    alive, conn = ConnectorLimits(ALIVE, 0), connect()
    with pytest.raises(ConnectorBusy):
        alive.acquire(conn, ONE_SLOT, job.id, clock)
    clock.advance(seconds=KILLED.seconds + 1)
    alive = ConnectorLimits(ALIVE, 0)
    assert alive.acquire(conn, ONE_SLOT, job.id, clock) is not None
    assert budget(session, ONE_SLOT.name) == (1, [ALIVE.worker])


def test_a_slot_comes_back_once_its_job_is_let_go_or_deleted(session, clock, connect):
    kept, pruned = held_job(session, clock, KILLED), held_job(session, clock, KILLED)
    two = Connector("test_two_slots", max_in_flight=2)
    dead = ConnectorLimits(KILLED, 0)
    for job in (kept, pruned):
        dead.acquire(connect(), two, job.id, clock)
    kept_id, pruned_id = kept.id, pruned.id
    session.rollback()  # SQLite: a transaction that has read can't write after others did
    session.execute(sa.update(Job).where(Job.id == kept_id).values(locked_by=None,
                                                                   locked_until=None))
    session.execute(sa.delete(Job).where(Job.id == pruned_id))
    session.commit()
    session.expunge_all()  # SQLite may give the deleted job's id to the next one
    job = held_job(session, clock, ALIVE)
    alive, conn = ConnectorLimits(ALIVE, 0), connect()
    assert alive.acquire(conn, two, job.id, clock) is not None
    assert alive.acquire(conn, two, job.id, clock) is not None
    assert budget(session, two.name) == (2, [ALIVE.worker] * 2)


def test_threads_of_one_digest_never_hold_more_slots_than_the_limit(session, clock, connect):
    job_id = held_job(session, clock, ALIVE).id
    three = Connector("test_threads", max_in_flight=3)
    limits = ConnectorLimits(ALIVE, 30)
    lock, now, peak, done = threading.Lock(), [0], [0], []

    def calls(conn: sa.Connection) -> None:
        for _ in range(5):
            with limits.turn(conn, three, job_id, clock):
                with lock:
                    now[0] += 1
                    peak[0] = max(peak[0], now[0])
                time.sleep(0.02)
                with lock:
                    now[0] -= 1
            done.append(1)

    threads = [threading.Thread(target=calls, args=(connect(),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert (len(done), peak[0]) == (40, 3)
    assert budget(session, three.name) == (0, [])


# -- the digest ----------------------------------------------------------------------

def digest(session, clock, wait: float = 0) -> JobDigest:
    return JobDigest(session, settings=QueueSettings(limit_wait=wait), clock=clock)


def stored(session, job):
    session.expire_all()
    return JobRepository(session).get(job.id)


def outcomes(request) -> list[str]:
    return [attempt.outcome for attempt in request.history]


def test_a_request_at_a_full_connector_gives_its_job_back_not_failed(
        session, clock, connect):
    other = held_job(session, clock, KILLED)
    holder, conn = ConnectorLimits(KILLED, 0), connect()
    turn = holder.acquire(conn, ONE_SLOT, other.id, clock)
    job = save_job(session, clock, ("test_echo", {}), ("test_one_slot", {}))
    result = digest(session, clock).execute()

    assert (result.deferred, result.outcomes, result.failed) == (1, {job.id: "deferred"}, 0)
    assert "1 retrying" not in result.summary() and ", 1 deferred (connector limits)" in \
        result.summary()
    back = stored(session, job)
    assert (back.state, back.locked_by) == (JobState.PENDING, None)
    assert back.next_attempt_at == clock.now + timedelta(seconds=1)
    echo, limited = back.requests
    assert (echo.state, outcomes(echo)) == (RequestState.SUCCEEDED, ["succeeded"])
    assert (limited.state, limited.attempts, limited.history) == (RequestState.PENDING, 0, [])

    holder.release(conn, turn)
    clock.advance(seconds=2)
    digest(session, clock).execute()
    back = stored(session, job)
    assert back.state == JobState.COMPLETED
    assert outcomes(back.requests[0]) == outcomes(back.requests[1]) == ["succeeded"]
    assert back.requests[1].result == '{"ran": 1}'  # its first attempt, as counted


def test_a_retrying_request_given_back_stays_retrying_with_its_attempts(
        session, clock, connect):
    job = save_job(session, clock, ("test_one_slot", {"fail_first": True}))
    digest(session, clock).execute()
    assert stored(session, job).requests[0].attempts == 1
    other = held_job(session, clock, KILLED)
    ConnectorLimits(KILLED, 0).acquire(connect(), ONE_SLOT, other.id, clock)
    clock.advance(seconds=1)
    result = digest(session, clock).execute()
    back = stored(session, job)
    assert (result.deferred, back.state) == (1, JobState.RETRYING)
    request = back.requests[0]
    assert (request.state, request.attempts, outcomes(request)) == (
        RequestState.RETRYING, 1, ["failed"])


def test_a_rate_booked_past_the_wait_gives_the_job_back_until_its_turn(session, clock):
    job = save_job(session, clock, ("test_ten_per_second", {}))
    session.add(ConnectorRow(name=TEN_PER_SECOND.name, rate_limit=10, next_call_at=0,
                             in_flight=0, updated_at=clock.now))
    session.commit()
    # Other digests have booked the next 30 seconds.
    session.execute(sa.update(ConnectorRow).values(next_call_at=db_epoch() + 30))
    session.commit()
    started = time.monotonic()
    result = digest(session, clock, wait=20).execute()
    assert time.monotonic() - started < 10  # waiting would not have helped: it did not
    back = stored(session, job)
    assert (result.deferred, back.state, back.requests[0].history) == (1, JobState.PENDING, [])
    due_in = (back.next_attempt_at - clock.now).total_seconds()
    assert 28 < due_in <= 30


def test_a_connector_without_limits_costs_nothing_in_the_database(session, clock):
    save_job(session, clock, ("test_echo", {}))
    digest(session, clock).execute()
    assert session.scalar(sa.select(sa.func.count()).select_from(ConnectorRow)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(ConnectorCall)) == 0


def test_a_digest_stopped_while_waiting_for_a_slot_gives_the_job_back_at_once(
        session, clock, connect):
    other = held_job(session, clock, KILLED)
    ConnectorLimits(KILLED, 0).acquire(connect(), ONE_SLOT, other.id, clock)
    job = save_job(session, clock, ("test_one_slot", {}))
    waiting = digest(session, clock, wait=60)
    engine, request_id = db.engine, job.requests[0].id
    session.rollback()

    def stop_once_waiting() -> None:
        """Stop the digest once its request is marked running: it waits for the slot."""
        marked = sa.select(Request.state).where(Request.id == request_id)
        for _ in range(600):
            with engine.connect() as connection:
                if connection.scalar(marked) == RequestState.RUNNING:
                    break
            time.sleep(0.05)
        time.sleep(0.2)
        waiting.stop()

    stopping = threading.Thread(target=stop_once_waiting)
    stopping.start()
    started = time.monotonic()
    result = waiting.execute()
    stopping.join()
    assert time.monotonic() - started < 5
    back = stored(session, job)
    assert (result.deferred, back.state, back.requests[0].history) == (1, JobState.PENDING, [])
    # Due again at once (for the next run: never within the run that gave it back).
    assert back.next_attempt_at == clock.now + timedelta(microseconds=1)


def test_no_wait_for_a_slot_goes_past_the_runs_max_seconds(session, clock, connect):
    other = held_job(session, clock, KILLED)
    ConnectorLimits(KILLED, 0).acquire(connect(), ONE_SLOT, other.id, clock)
    job = save_job(session, clock, ("test_one_slot", {}))
    started = time.monotonic()
    result = digest(session, clock, wait=60).execute(max_seconds=2)
    assert 2 <= time.monotonic() - started < 10
    assert (result.deferred, stored(session, job).requests[0].history) == (1, [])
