"""Paused request types and connectors, on every database: no digest starts a job with a
request of a paused type, new jobs included; the relation's order holds; resuming lets
them run; every change is audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import tests.support.limited_types  # noqa: F401  (types of a connector of their own)
from dashboard import audit
from dashboard.actions import pauses as pause_actions
from dashboard.queries import overview
from dashboard.queue import JobDigest, JobRepository, JobState, QueueSettings
from dashboard.queue.database.engine_setup import is_postgresql
from dashboard.queue.store import pauses
from dashboard.queue.store.claims import Lease, NotRunnable, claim_one, new_worker_id
from tests.support.factories import save_job


def run(session, clock):
    return JobDigest(session, settings=QueueSettings(), clock=clock).execute()


def state(session, job_id: int) -> JobState:
    session.expire_all()
    return JobRepository(session).get(job_id).state


def pause(session, clock, kind: str, name: str) -> pause_actions.Changed:
    done = pause_actions.pause(session, kind, name, actor="cli:ops", now=clock.now)
    session.commit()
    return done


def resume(session, clock, kind: str, name: str) -> pause_actions.Changed:
    done = pause_actions.resume(session, kind, name, actor="cli:ops", now=clock.now)
    session.commit()
    return done


def test_a_paused_type_holds_its_jobs_new_ones_too_until_resumed(session, clock):
    before = save_job(session, clock, ("test_echo", {}), ("test_boom", {"n": 1}))
    done = pause(session, clock, "type", "test_boom")
    assert done.changed and done.type_codes == ("test_boom",)
    after = save_job(session, clock, ("test_boom", {"n": 2}))
    other = save_job(session, clock, ("test_echo", {"n": 3}))
    clock.advance(seconds=1)

    run(session, clock)

    # Held whole: not even the job's first request (of another type) started.
    assert state(session, before.id) == JobState.PENDING
    assert state(session, after.id) == JobState.PENDING
    assert state(session, other.id) == JobState.COMPLETED
    assert overview.oldest_due(session, clock.now) is None  # no digest could take them

    assert resume(session, clock, "type", "test_boom").changed
    run(session, clock)
    assert state(session, before.id) == JobState.RETRYING  # test_boom fails once
    assert state(session, after.id) == JobState.RETRYING


def test_the_relation_order_holds_behind_a_held_job(session, clock):
    held = save_job(session, clock, ("test_boom", {}), relation_id="cust-1")
    pause(session, clock, "type", "test_boom")
    later = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    clock.advance(seconds=1)
    run(session, clock)
    assert (state(session, held.id), state(session, later.id)) == (JobState.PENDING,
                                                                    JobState.PENDING)


def test_run_now_refuses_a_job_of_a_paused_type(session, clock):
    job = save_job(session, clock, ("test_boom", {}))
    pause(session, clock, "type", "test_boom")
    with session.connection() as conn, pytest.raises(NotRunnable, match="paused type"):
        claim_one(conn, Lease(new_worker_id(), 300), job.id, now=clock.now)


def test_pausing_a_connector_pauses_its_types_and_resuming_it_resumes_them(session, clock):
    job = save_job(session, clock, ("test_one_slot", {}))
    done = pause(session, clock, "connector", "test_one_slot")
    assert done.type_codes == ("test_one_slot",)
    assert pauses.type_codes(session) == {"test_one_slot"}
    clock.advance(seconds=1)
    run(session, clock)
    assert state(session, job.id) == JobState.PENDING
    assert resume(session, clock, "connector", "test_one_slot").type_codes == ("test_one_slot",)
    assert pauses.type_codes(session) == set()


def test_pausing_twice_changes_nothing_and_records_once(session, clock):
    assert pause(session, clock, "type", "test_echo").changed
    again = pause(session, clock, "type", "test_echo")
    assert not again.changed and again.message == "Request type 'test_echo' was paused already."
    assert not resume(session, clock, "type", "test_boom").changed
    resume(session, clock, "type", "test_echo")
    actions = [entry.action for entry in audit.entries(session).entries]
    assert sorted(actions) == ["type-pause", "type-resume"]


@pytest.mark.parametrize(("kind", "name", "message"), [
    ("type", "no_such_type", "no request type has the code 'no_such_type'"),
    ("connector", "no_such_api", "no request type uses a connector named 'no_such_api'"),
])
def test_an_unknown_type_or_connector_is_refused(session, clock, kind, name, message):
    for change in (pause_actions.pause, pause_actions.resume):
        with pytest.raises(pause_actions.PauseRefused, match=message):
            change(session, kind, name, actor="cli:ops", now=clock.now)
        session.rollback()
    assert pauses.listed(session) == []


def test_a_paused_type_that_a_digest_reaches_mid_job_is_not_started_by_the_next_claim(
        session, clock):
    job = save_job(session, clock, ("test_boom", {}))
    run(session, clock)  # fails once: retrying
    pause(session, clock, "type", "test_boom")
    clock.advance(hours=3)
    run(session, clock)
    assert state(session, job.id) == JobState.RETRYING
    assert overview.oldest_due(session, clock.now) is None


def test_on_postgresql_a_resume_wakes_the_loop_workers(session, clock, db_url):
    if not is_postgresql(session.get_bind()):
        pytest.skip("PostgreSQL's notifications only (the other databases' workers poll)")
    import psycopg

    from dashboard.queue.database.wakeup import CHANNEL

    pause(session, clock, "type", "test_echo")
    url = sa.make_url(db_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False),
                         autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        resume(session, clock, "type", "test_echo")
        woken = next(listener.notifies(timeout=10, stop_after=1), None)
    assert woken is not None and woken.channel == CHANNEL


def test_a_type_paused_while_its_job_runs_is_not_started_and_the_job_is_given_back(
        session, clock):
    import threading

    from sqlalchemy.orm import Session

    from dashboard.queue import RequestState

    job = save_job(session, clock, ("test_sleeps", {"seconds": 1.5}), ("test_echo", {}))
    own = Session(session.get_bind())
    digest = JobDigest(own, settings=QueueSettings(), clock=clock)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (digest.execute(), done.set()))
    thread.start()
    try:
        # The test's clock stands still: wait on the database for the job to start.
        for _ in range(400):
            session.rollback()  # a new snapshot: see what the digest committed
            if state(session, job.id) == JobState.RUNNING:
                break
            done.wait(0.05)
        assert state(session, job.id) == JobState.RUNNING
        pause(session, clock, "type", "test_echo")
        assert done.wait(30)
    finally:
        thread.join(30)
        own.close()
    session.expire_all()
    stored = JobRepository(session).get(job.id)
    assert stored.state == JobState.PENDING and stored.locked_by is None
    assert [r.state for r in stored.requests] == [RequestState.SUCCEEDED, RequestState.PENDING]


def test_a_paused_type_no_longer_defined_here_can_still_be_resumed(session, clock):
    session.execute(sa.insert(pauses.paused_types).values(
        type_code="gone_type", connector=None, paused_at=clock.now, paused_by="cli:ops"))
    session.commit()
    assert resume(session, clock, "type", "gone_type").changed
    assert pauses.type_codes(session) == set()
