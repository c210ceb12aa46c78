"""--loop digests ride out their database's restart: the calls in flight finish, their
outcomes are written once the server is back, and every job ends. On a PostgreSQL or
MariaDB server of the test's own (in a temporary folder, on a port of its own), never the
shared one, taken down each way its kind can be: PostgreSQL's ``pg_ctl restart -m fast``
and ``-m immediate``, MariaDB's clean shutdown and SIGKILL, each followed by a start."""

from __future__ import annotations

import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import pairwise

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.db import utcnow
from dashboard.queue import Job, JobRepository, JobState
from dashboard.queue.database.engine_setup import engine_options, prepare_engine
from dashboard.queue.jobs.models import Attempt, DigestProcess
from tests.support import own_mariadb, own_postgres
from tests.support.concurrency import assert_clean_exit, executed, recorded_job, running
from tests.support.own_server import OwnServer, own_server
from tests.support.processes import wait_until
from tests.support.schema import migrate_to_head

#: Each kind of server of the test's own, by the shared server's backend.
SERVERS = {
    "postgresql": (own_postgres.OwnPostgres, own_postgres.available),
    "mysql": (own_mariadb.OwnMariaDB, own_mariadb.available),
}
CASES = [pytest.param(kind, mode, id=f"{kind}-{mode}")
         for kind, server in (("postgresql", own_postgres.OwnPostgres),
                              ("mariadb", own_mariadb.OwnMariaDB))
         for mode in server.MODES]
DIGESTS = 3
JOBS = 12
#: What a digest writes to standard error while its database is away, and nothing else.
EXPECTED = ("the database refused or lost the connection",
            "could not renew the lease", "could not beat the digest's row",
            # between runs a worker waits on a connection of its own: the restart ends
            # its LISTEN (PostgreSQL), or its poll (MariaDB); it tries again
            "could not listen for new jobs", "could not poll for new jobs")


@pytest.fixture
def server(db_url) -> Iterator[OwnServer]:
    """A server of the test's own, of the same kind as the shared one of ``db_url``."""
    make, available = SERVERS[sa.make_url(db_url).get_backend_name()]
    with own_server(make, available()) as started:
        yield started


@pytest.fixture
def queue(server) -> Iterator[sa.Engine]:
    """The queue's schema on the server of the test's own, and an engine on it."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": server.url, "SECRET_KEY": "t" * 32})
    migrate_to_head(app)
    with app.app_context():  # its pooled connections would die with the restart, open
        db.engine.dispose()
    engine = sa.create_engine(server.url, **engine_options(server.url))
    prepare_engine(engine)
    yield engine
    engine.dispose()


def states(engine: sa.Engine) -> Counter:
    with engine.connect() as conn:
        return Counter(conn.scalars(sa.select(Job.state)))


def registered(engine: sa.Engine) -> set[int]:
    """The pids of the digests on the Digests page: started, and past their first writes."""
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(DigestProcess.pid)))


def run_twice_at_once(rows: list[sa.Row]) -> list[int]:
    """The requests two of whose executions overlapped in time."""
    by_request = defaultdict(list)
    for row in rows:
        by_request[row.request_id].append(row)
    return [request_id for request_id, runs in by_request.items()
            if any(later.started < (earlier.finished or float("inf"))
                   for earlier, later in pairwise(runs))]


def extra_executions(rows: list[sa.Row], attempts: list[sa.Row]) -> dict[int, dict]:
    """Each request that ran more than once: how many times, and the attempts recorded of
    it (the queue's account of why it ran again: an interrupted or failed attempt)."""
    count = Counter(row.request_id for row in rows)
    recorded = defaultdict(list)
    for attempt in attempts:
        recorded[attempt.request_id].append((attempt.outcome, attempt.error))
    return {request_id: {"executions": n, "attempts": recorded[request_id]}
            for request_id, n in count.items() if n > 1}


@pytest.mark.slow
@pytest.mark.parametrize(("db_url", "mode"), CASES, indirect=["db_url"])
def test_loop_digests_ride_out_a_database_restart(session, digests, server, queue, mode):
    # The executions are recorded on the shared server, which stays up.
    workers = [digests.start("--loop", "--interval", "0.2", url=server.url,
                             EXECUTIONS_URL=digests.url, QUEUE_CONCURRENCY=JOBS)
               for _ in range(DIGESTS)]
    # Every digest is looping, none still starting up (test_a_loop_digest_started_while_
    # its_database_is_down_waits_for_it is that case).
    wait_until(lambda: registered(queue) == {worker.pid for worker in workers}, timeout=60,
               what=f"{DIGESTS} digests on the Digests page")
    with Session(queue) as own:
        jobs = JobRepository(own, utcnow).save_many(
            [recorded_job({"sleep": 3}, {}) for _ in range(JOBS)])
    # A digest claims ahead of its threads, so one may run every call: the others ride
    # the restart out waiting for work.
    wait_until(lambda: all(running(session, job, 0) for job in jobs), timeout=60,
               what=f"{JOBS} calls in flight")
    queue.dispose()
    down = time.time()
    server.restart(mode)
    back = time.time()
    wait_until(lambda: states(queue) == {JobState.COMPLETED: JOBS}, timeout=30,
               what="every job to complete within 30 s of the server's return")
    ended = time.time()
    assert ended - back < 30
    for worker in workers:
        worker.send(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(timeout=30) == 0, worker.output
        assert_clean_exit(worker, stopped_by="SIGTERM", expected=EXPECTED)
    assert any(EXPECTED[0] in worker.stderr for worker in workers), [
        worker.output for worker in workers]

    rows = executed(session)
    with queue.connect() as conn:
        attempts = conn.execute(sa.select(Attempt.request_id, Attempt.outcome,
                                          Attempt.error)).all()
    assert run_twice_at_once(rows) == []
    extra = extra_executions(rows, attempts)
    calls_by_digest = Counter(row.pid for row in rows)
    # What the restart cost: the calls in flight went on meanwhile, so the jobs ended that
    # long after both the server was back and the last of those calls had returned.
    returned = max(row.finished for row in rows if row.position == 0)
    assert returned > down, "every call had returned before the restart"
    print(f"{server.NAME} {mode}: down for {back - down:.1f} s; every job ended "
          f"{ended - back:.1f} s after its return, {ended - max(back, returned):.1f} s after "
          f"the last call in flight had returned too; {len(rows)} calls by "
          f"{len(calls_by_digest)} of {DIGESTS} digests, "
          f"{sum(each['executions'] - 1 for each in extra.values())} beyond one a request")
    # Each call ran once (the lease outlives the restart: no digest takes over another's
    # job), and its success was recorded as such: no "interrupted" attempt.
    assert extra == {}, f"requests run again, with their recorded attempts: {extra}"
    assert sorted(row.request_id for row in rows) == sorted(
        r.id for job in jobs for r in job.requests)
    assert Counter(attempt.outcome for attempt in attempts) == {"succeeded": 2 * JOBS}


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql", "mariadb"], indirect=True)
def test_a_loop_digest_started_while_its_database_is_down_waits_for_it(
        session, digests, server, queue):
    """As a restart that catches digests starting up: the digest neither exits nor
    leaves the Digests page for good; it runs the jobs once the server is back."""
    with Session(queue) as own:
        jobs = JobRepository(own, utcnow).save_many([recorded_job({}) for _ in range(3)])
    queue.dispose()
    server.stop()
    worker = digests.start("--loop", "--interval", "0.2", url=server.url,
                           EXECUTIONS_URL=digests.url)
    wait_until(lambda: EXPECTED[0] in worker.stderr or worker.popen.poll() is not None,
               timeout=30, what="the digest to say it waits for the database")
    assert worker.popen.poll() is None, worker.output
    server.start()
    wait_until(lambda: states(queue) == {JobState.COMPLETED: len(jobs)}, timeout=30,
               what="every job to complete within 30 s of the server's start")
    wait_until(lambda: registered(queue) == {worker.pid}, timeout=10,
               what="the digest on the Digests page")
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, worker.output
    assert_clean_exit(worker, stopped_by="SIGTERM", expected=EXPECTED)
    assert Counter(row.request_id for row in executed(session)) == Counter(
        {r.id: 1 for job in jobs for r in job.requests})
