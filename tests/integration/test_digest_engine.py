"""The digest as an engine: many requests in flight on a few connections, steps of
different jobs written together, and no call that can hang it (its timeout, --max-seconds,
a second signal)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
import pytest
import sqlalchemy as sa

from dashboard.queue import (
    Job,
    JobDigest,
    JobRepository,
    JobState,
    QueueSettings,
    RequestContext,
    RequestState,
    RequestType,
)
from dashboard.queue.digest.job_digest import STOPPED_AT_ONCE
from tests.support import databases
from tests.support.concurrency import (
    assert_clean_exit,
    executed,
    job_states,
    lease_expired,
    most_at_once,
    recorded_job,
    requests_of,
    running,
    save,
)
from tests.support.factories import save_job
from tests.support.processes import wait_until


class Hang(RequestType):
    """Waits on a socket that never answers (at most 30 s), with a timeout of 1 s."""

    type_code = "test_hang"
    timeout = 1.0
    address: ClassVar[tuple[str, int]] = ("127.0.0.1", 0)
    returned = threading.Event()

    def execute(self, payload: Any, context: RequestContext) -> Any:
        try:
            with socket.create_connection(Hang.address, timeout=30) as conn:
                conn.recv(1)
        finally:
            Hang.returned.set()
        return {"late": True}


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A listening socket that never accepts: a call to it waits until it is closed."""
    server = socket.create_server(("127.0.0.1", 0), backlog=16)
    Hang.address = server.getsockname()
    Hang.returned.clear()
    yield server
    server.close()


def stored(session, job: Job) -> Job:
    session.rollback()
    session.expire_all()
    return JobRepository(session).get(job.id)


def test_a_hung_request_is_ended_at_its_timeout_while_other_jobs_go_on(
        session, clock, silent_server):
    hung = save_job(session, clock, ("test_hang", {}))
    others = [save_job(session, clock, ("test_sleeps", {"seconds": 0.3}), ("test_echo", {}))
              for _ in range(8)]
    digest = JobDigest(session, settings=QueueSettings(), clock=clock, concurrency=3)
    started = time.monotonic()
    result = digest.execute()
    seconds = time.monotonic() - started
    # The others ran beside it, 2 at a time, then 3 once it was ended: about 1 s in all.
    assert seconds < 10, seconds
    assert not Hang.returned.is_set()
    assert digest.hung == 1
    assert (result.jobs, result.succeeded, result.retrying) == (9, 16, 1)
    job = stored(session, hung)
    assert (job.state, job.locked_by) == (JobState.RETRYING, None)
    request, = job.requests
    assert (request.state, request.attempts) == (RequestState.RETRYING, 1)
    assert [(a.outcome, a.error) for a in request.history] == [("failed",
                                                                 "timed out after 1 s")]
    assert {stored(session, job).state for job in others} == {JobState.COMPLETED}

    # The call returns at last (its server closed): its result is discarded, nothing written.
    silent_server.close()
    assert Hang.returned.wait(30)
    wait_until(lambda: digest.hung == 0, timeout=10, what="the hung call to return")
    job = stored(session, hung)
    assert (job.state, job.requests[0].attempts, len(job.requests[0].history)) == (
        JobState.RETRYING, 1, 1)


def test_steps_of_jobs_that_end_together_share_a_transaction(session, clock):
    # The 40 calls answer at one moment, after all have started even on a loaded host.
    until = time.time() + 3
    jobs = [save_job(session, clock, ("test_sleeps", {"until": until}), ("test_echo", {}))
            for _ in range(40)]
    digest = JobDigest(session, settings=QueueSettings(db_connections=3), clock=clock,
                       concurrency=40)
    result = digest.execute()
    assert (result.jobs, result.succeeded) == (40, 80)
    group = digest._steps.group
    # 40 jobs of two requests: 120 steps (a start, the next start with the first outcome,
    # the last outcome); with 2 connections, the ones that come together go together:
    # 19 to 35 transactions on a quiet host, 71 to 77 on one loaded 10 to 48 on 2 cores
    # (its threads wake one by one), against 120 written one by one.
    assert group.items == 120
    assert group.transactions < group.items * 3 / 4, (group.transactions, group.items)
    for job in jobs:
        requests = stored(session, job).requests
        assert [r.state for r in requests] == [RequestState.SUCCEEDED] * 2
        assert requests[1].history[0].started_at >= requests[0].history[0].finished_at


# -- real digest processes ------------------------------------------------------------------

ROLE = f"{databases.NAME}_limited"


@pytest.fixture
def limited_url(db_url: str) -> Iterator[str]:
    """A role of the test's PostgreSQL server allowed 8 connections, with the rights the
    digest needs on the test database; dropped afterwards."""
    admin = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
    statements = [f'CREATE ROLE "{ROLE}" LOGIN CONNECTION LIMIT 8'] + [
        f'GRANT ALL ON ALL {kind} IN SCHEMA public TO "{ROLE}"'
        for kind in ("TABLES", "SEQUENCES", "FUNCTIONS")]
    with admin.connect() as conn:
        _drop_role(conn)
        for statement in statements:
            conn.exec_driver_sql(statement)
    yield sa.make_url(db_url).set(username=ROLE).render_as_string(hide_password=False)
    with admin.connect() as conn:
        _drop_role(conn)
    admin.dispose()


def _drop_role(conn: sa.Connection) -> None:
    if conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}):
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE usename = :r"), {"r": ROLE})
        conn.exec_driver_sql(f'DROP OWNED BY "{ROLE}"')
        conn.exec_driver_sql(f'DROP ROLE "{ROLE}"')


class Peak:
    """The most connections ``role`` had open at once, sampled every 20 ms."""

    def __init__(self, session, role: str) -> None:
        self.most = 0
        self._done = threading.Event()
        self._engine = sa.create_engine(session.get_bind().url, pool_size=1)
        self._role = role
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._engine.connect() as conn:
            while not self._done.wait(0.02):
                count = conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity "
                                            "WHERE usename = :r"), {"r": self._role})
                conn.rollback()
                self.most = max(self.most, count)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        self._engine.dispose()
        return self.most


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_200_in_flight_on_a_role_allowed_8_connections_run_every_request_once(
        session, digests, db_url, limited_url):
    jobs = save(session, [recorded_job({"sleep": 1.0}) for _ in range(400)])
    peak = Peak(session, ROLE)
    # The executions are recorded through another role: only the digest's count here.
    digest = digests.run("--concurrency", "200", url=limited_url, EXECUTIONS_URL=db_url,
                         timeout=120)
    most = peak.stop()
    assert_clean_exit(digest)
    assert 1 <= most <= 8, most
    assert job_states(session) == {JobState.COMPLETED: 400}
    rows = executed(session)
    assert Counter(row.request_id for row in rows) == Counter(
        {r.id: 1 for job in jobs for r in job.requests})
    assert max(most_at_once(rows).values()) >= 100


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_connection_refused_for_the_roles_limit_is_waited_for(
        session, digests, db_url, limited_url):
    jobs = save(session, [recorded_job({}) for _ in range(5)])
    # The role's 8 connections, all taken: the digest is refused until they are given back.
    url = sa.make_url(limited_url).set(drivername="postgresql")
    taken = [psycopg.connect(url.render_as_string(hide_password=False)) for _ in range(8)]
    try:
        digest = digests.start(url=limited_url, EXECUTIONS_URL=db_url)
        wait_until(lambda: "too many connections for role" in digest.stderr, timeout=60,
                   what="the digest to be refused")
        assert digest.popen.poll() is None, digest.output
    finally:
        for conn in taken:
            conn.close()
    assert digest.wait(timeout=60) == 0, digest.output
    assert_clean_exit(digest, expected=("the database refused or lost the connection",))
    line, = digest.stderr.splitlines()  # one line a minute while it waits
    assert "trying again for up to 60s" in line
    assert job_states(session) == {JobState.COMPLETED: len(jobs)}


@pytest.mark.slow
def test_max_seconds_holds_with_a_hung_call(session, digests, tmp_path):
    # A call that never returns (here: until a file that never appears, 60 s at most).
    hung, quick = save(session, [recorded_job({"until": str(tmp_path / "never")}),
                                 recorded_job({})])
    started = time.monotonic()
    digest = digests.run("--max-seconds", "1", QUEUE_REQUEST_TIMEOUT=2, timeout=60)
    seconds = time.monotonic() - started
    assert_clean_exit(digest, expected=("timed out after 2 s; its thread is abandoned",))
    # At most --max-seconds and the timeout after it started (and the interpreter's start).
    assert seconds < 1 + 2 + 15, seconds
    first, = requests_of(session, hung)
    assert (first.job.state, first.job.locked_by) == (JobState.RETRYING, None)
    assert [(a.outcome, a.error) for a in first.history] == [("failed", "timed out after 2 s")]
    assert [r.job.state for r in requests_of(session, quick)] == [JobState.COMPLETED]


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_gives_back_every_job(session, digests, tmp_path):
    marker = tmp_path / "never"
    jobs = save(session, [recorded_job({"until": str(marker)}) for _ in range(3)])
    digest = digests.start(QUEUE_CONCURRENCY=3)
    wait_until(lambda: all(running(session, job, 0) for job in jobs), what="3 calls running")
    digest.send(signal.SIGTERM)
    wait_until(lambda: "SIGTERM received" in digest.stderr, what="the first signal's notice")
    time.sleep(0.5)  # the first signal lets the calls run: the digest is still there
    assert digest.popen.poll() is None, digest.output
    started = time.monotonic()
    digest.send(signal.SIGTERM)
    assert digest.wait(timeout=30) == 0, digest.output
    assert time.monotonic() - started < 10
    assert "SIGTERM received again, stopping at once" in digest.stderr
    for job in jobs:
        first = requests_of(session, job)[0]
        assert (first.job.state, first.job.locked_by) == (JobState.RETRYING, None)
        assert [(a.outcome, a.error) for a in first.history] == [("failed", STOPPED_AT_ONCE)]


@pytest.mark.slow
def test_a_digest_stopped_past_its_lease_writes_nothing_once_it_goes_on(
        session, digests, tmp_path):
    # Its outcome goes through group commit like any step: the lease guard still fences it.
    marker = tmp_path / "go-on"
    job, = save(session, [recorded_job({"until": str(marker)})])
    first = digests.start(QUEUE_LEASE_SECONDS=2)
    wait_until(lambda: running(session, job, 0), what="the first digest's call")
    first.send(signal.SIGSTOP)
    try:
        wait_until(lambda: lease_expired(session, job), timeout=10, what="its lease to end")
        marker.touch()
        # The next digest takes the job over (an interrupted attempt), the one after runs it.
        assert_clean_exit(digests.run(QUEUE_LEASE_SECONDS=2, timeout=60),
                          expected=("lease expired",))
        assert_clean_exit(digests.run(QUEUE_LEASE_SECONDS=2, timeout=60))
        request, = requests_of(session, job)
        assert request.job.state == JobState.COMPLETED
    finally:
        first.send(signal.SIGCONT)
    assert first.wait(timeout=30) == 0, first.output
    assert "lost its lease to another digest" in first.stderr, first.output
    request, = requests_of(session, job)
    assert [(a.outcome, a.error) for a in request.history] == [
        ("failed", "interrupted: lease expired"), ("succeeded", None)]
    assert request.attempts == 2
