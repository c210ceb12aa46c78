"""What a ``--loop`` worker waits on between runs (queue/database/wakeup.py), in this process:
the poll of SQLite and MariaDB (one statement, one index probe, fast after work and
backing off when idle), PostgreSQL's notifications (which saves and updates send one),
and the next due time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.db import utcnow
from dashboard.queue import JobDigest, JobRepository
from dashboard.queue.database import wakeup
from dashboard.queue.digest.worker import LoopWorker
from dashboard.queue.jobs.settings import QueueSettings
from dashboard.queue.operations import actions
from tests.support.factories import make_job


def job():
    return make_job(("test_echo", {}))


def later(seconds: float, action) -> threading.Thread:
    """Run ``action`` in a thread after ``seconds``, as another process's save would come."""
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def save_elsewhere(app):
    """A save on a session of its own, in its own app context."""
    def save() -> None:
        with app.app_context():
            JobRepository(db.session(), utcnow).save(job())
            db.session.remove()
    return save


@pytest.fixture
def stop(session):
    """What a wait is stopped by: a real digest's stop (``JobDigest.stop``)."""
    return JobDigest(session, settings=QueueSettings())


def statements(engine: sa.Engine, action) -> list[str]:
    """The statements SQLAlchemy sends on ``engine`` while ``action`` runs."""
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return sent


def polls_only(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL notifies: its workers don't poll")


def sent_by(poller: wakeup.Poller, db_url: str) -> list[str] | int:
    """What one poll sends, as the server counts it: SQLite's statements (its trace), or
    MariaDB's count of statements received on the poll's connection."""
    poller.poll()  # connected
    driver = poller._driver
    if db_url.startswith("sqlite"):
        traced: list[str] = []
        driver.set_trace_callback(traced.append)
        poller.poll()
        driver.set_trace_callback(None)
        return traced

    def questions() -> int:
        cursor = driver.cursor()
        cursor.execute("SHOW SESSION STATUS LIKE 'Questions'")
        count = int(cursor.fetchone()[1])
        cursor.close()
        return count

    before = questions()
    poller.poll()
    return questions() - before - 1  # the second SHOW counts itself


def test_the_poll_is_one_statement_that_reads_one_index_entry(app, session, db_url):
    polls_only(db_url)
    JobRepository(session, utcnow).save_many([job() for _ in range(3)])
    poller = wakeup.Poller(db.engine, interval=5)
    sent = sent_by(poller, db_url)
    poller.close()
    if db_url.startswith("sqlite"):
        assert sent == [poller._sql], sent  # no BEGIN, no COMMIT: one statement
        plan = session.execute(sa.text(f"EXPLAIN QUERY PLAN {poller._sql}")).all()
        assert [row[-1] for row in plan] == ["SEARCH jobs"], plan  # the rowid's last entry
    else:
        assert sent == 1  # no ROLLBACK after it: the connection is in autocommit
        plan = session.execute(sa.text(f"EXPLAIN {poller._sql}")).mappings().one()
        assert plan["Extra"] == "Select tables optimized away", plan  # the key's last entry


def test_a_poller_sees_a_save_at_once_after_work_arrived(app, session, db_url, stop):
    polls_only(db_url)
    poller = wakeup.Poller(db.engine, interval=60)
    poller.worked()
    poller.poll()
    started = time.monotonic()
    saving = later(0.3, save_elsewhere(app))
    assert poller.wait(60, stop) is True
    saving.join()
    assert time.monotonic() - started < 5  # polls every 50 ms; the interval is 60 s
    poller.close()


def test_an_idle_poller_backs_off_to_the_interval_and_still_sees_a_save(
        app, session, db_url, stop, monkeypatch):
    polls_only(db_url)
    monkeypatch.setattr(wakeup, "RECENT", 0.0)  # no work came: idle from the start
    poller = wakeup.Poller(db.engine, interval=0.8)
    assert poller.wait(3.0, stop) is False
    # 50 ms, doubling to 0.8 s: 0.05 + 0.1 + 0.2 + 0.4 + 0.8 + 0.8 ... (fast: 60 polls)
    assert 3 <= poller.polls <= 9, poller.polls
    saving = later(0.2, save_elsewhere(app))
    assert poller.wait(10, stop) is True
    saving.join()
    poller.close()


def test_a_stop_cuts_a_wait_short(app, session, db_url, stop):
    waiter = wakeup.for_engine(db.engine, interval=60)
    stopping = later(0.3, stop.stop)
    started = time.monotonic()
    assert waiter.wait(60, stop) is False
    stopping.join()
    assert time.monotonic() - started < 10
    waiter.close()


def test_next_due_is_the_earliest_future_time_of_a_pending_or_retrying_job(
        app, session, clock):
    now = clock.now
    _due_now, retrying, scheduled = JobRepository(session, clock).save_many(
        [job(), job(), job()])
    session.execute(sa.text("UPDATE jobs SET state = 'retrying', next_attempt_at = :at "
                            "WHERE id = :id"), {"at": now + timedelta(seconds=90),
                                                "id": retrying.id})
    session.execute(sa.text("UPDATE jobs SET next_attempt_at = :at WHERE id = :id"),
                    {"at": now + timedelta(seconds=120), "id": scheduled.id})
    session.commit()
    with db.engine.connect() as conn:
        sent = statements(db.engine, lambda: wakeup.next_due(conn, now))
        assert wakeup.next_due(conn, now) == now + timedelta(seconds=90)
        assert wakeup.next_due(conn, now + timedelta(seconds=100)) == now + timedelta(
            seconds=120)
        assert wakeup.next_due(conn, now + timedelta(seconds=200)) is None
    assert [s.split()[0] for s in sent if s != "BEGIN"] == ["SELECT"]  # one statement


def test_a_job_that_came_due_while_the_last_run_went_on_ends_the_wait_at_once(
        app, session, clock):
    """A run claims what was due when it started. A job whose time came while the run
    went on (a long run, a loaded host) is due when the run ends: the wait after it ends
    at once, not at the interval (a minute here; the test gives it 20 s)."""
    late = job()
    late.delay_seconds = 2
    JobRepository(session, clock).save_many([late])
    since = clock.now  # the run started; the job was not due yet
    clock.advance(seconds=5)  # it ended after the job's time
    digest = JobDigest(session, settings=QueueSettings(), clock=clock, resident=True)
    worker = LoopWorker(digest, interval=60)
    waiting = threading.Thread(target=worker._wait, args=(since,))
    waiting.start()
    waiting.join(20)
    ended = not waiting.is_alive()
    digest.stop()
    waiting.join()
    worker.waiter.close()
    assert ended, "the worker waited for the interval"


# -- PostgreSQL's notifications ---------------------------------------------------------


@pytest.fixture
def listening(app, db_url):
    """A raw connection that LISTENs on the queue's channel; ``notified()`` reads what
    came, up to a notice of the test's own (so "none came" is read, not waited for)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    pooled = db.engine.raw_connection()
    driver = pooled.driver_connection
    driver.autocommit = True
    driver.execute(f"LISTEN {wakeup.CHANNEL}")

    def notified() -> int:
        driver.execute(f"NOTIFY {wakeup.CHANNEL}, 'end'")
        count = 0
        for notice in driver.notifies(timeout=30):
            if notice.payload == "end":
                return count
            count += 1
        raise AssertionError("the test's own notice never came")

    notified.driver = driver  # type: ignore[attr-defined]
    yield notified
    driver.execute(f"UNLISTEN {wakeup.CHANNEL}")
    pooled.close()


def test_every_kind_of_save_notifies_once_on_commit(app, session, clock, listening):
    repository = JobRepository(session, clock)
    repository.save(job())
    assert listening() == 1
    repository.save_many([job() for _ in range(50)])
    assert listening() == 1  # one a statement, not one a job
    session.rollback()
    session.execute(sa.text("SELECT 1"))
    assert listening() == 0


def test_a_digest_run_notifies_nothing_but_an_operators_retry_and_resume_do(
        app, session, clock, listening):
    saved = JobRepository(session, clock).save(job())
    assert listening() == 1
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()
    assert listening() == 0  # claim, start, outcome: the job is completed, nothing due
    second = JobRepository(session, clock).save(job())
    actions.pause(session, second.id, clock.now)
    session.commit()
    assert listening() == 1  # the save; the pause leaves nothing due
    actions.resume(session, second.id, clock.now)
    session.commit()
    assert listening() == 1
    assert saved.id != second.id


def test_a_listener_wakes_on_a_save_from_elsewhere(app, session, db_url, stop):
    if not db_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    listener = wakeup.for_engine(db.engine, interval=60)
    assert isinstance(listener, wakeup.Listener)
    listener.listen()
    started = time.monotonic()
    saving = later(0.3, save_elsewhere(app))
    assert listener.wait(60, stop) is True
    saving.join()
    assert time.monotonic() - started < 5
    listener.close()
