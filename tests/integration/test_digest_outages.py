"""The digest when its database fails: a connection killed on the server, the server
gone in the middle of a request, a server that is not there, a database it can't use."""

from __future__ import annotations

import socket
import time

import pytest
import sqlalchemy as sa

from dashboard.db import Base
from dashboard.queue import JobState, RequestState
from dashboard.queue.digest.job_digest import INTERRUPTED
from tests.support import databases
from tests.support.concurrency import (
    LEASE,
    assert_clean_exit,
    executed,
    history,
    kill_connections,
    lease_expired,
    recorded_job,
    requests_of,
    running,
    save,
)
from tests.support.processes import Digests, wait_until

SERVERS = ["postgresql", "mariadb"]
NO_TABLES = ("Error: the database has no queue tables (or an old schema): run "
             "`flask --app dashboard db upgrade` first")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", SERVERS, indirect=True)
def test_a_killed_connection_is_replaced_and_the_digest_goes_on(
        session, digests, proxy, db_url, tmp_path):
    # The server kills the digest's connections while request 2 runs: the digest opens
    # others, writes request 2's outcome as it is, and goes on. Nothing is interrupted.
    marker = tmp_path / "go-on"
    job, = save(session, [recorded_job({}, {"until": str(marker)}, {})])
    through_proxy = dict(url=proxy.url_for(db_url), EXECUTIONS_URL=db_url, **LEASE)
    digest = digests.start(**through_proxy)
    wait_until(lambda: running(session, job, 1), what="request 2 to start")
    assert kill_connections(session, proxy.server_ports()) >= 1
    marker.touch()
    assert digest.wait(timeout=30) == 0, digest.output
    assert_clean_exit(digest, expected=("the database refused or lost the connection",
                                        "could not renew the lease"))
    first, second, third = requests_of(session, job)
    assert first.job.state == JobState.COMPLETED
    assert [history(r) for r in (first, second, third)] == [[("succeeded", None)]] * 3
    assert [r.position for r in executed(session)] == [0, 1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", SERVERS, indirect=True)
def test_the_server_going_away_mid_request_stops_the_digest_and_the_next_run_goes_on(
        session, digests, proxy, db_url, tmp_path):
    # Refused for longer than QUEUE_DB_WAIT_SECONDS: the digest gives up.
    marker = tmp_path / "go-on"
    job, = save(session, [recorded_job({}, {"until": str(marker)}, {})])
    through_proxy = dict(url=proxy.url_for(db_url), EXECUTIONS_URL=db_url,
                         QUEUE_DB_WAIT_SECONDS=2, **LEASE)
    digest = digests.start(**through_proxy)
    wait_until(lambda: running(session, job, 1), what="request 2 to start")
    proxy.refuse()
    assert kill_connections(session, proxy.server_ports()) >= 1
    time.sleep(1)  # the outage outlasts a beat of the lease's heartbeat
    marker.touch()
    assert digest.wait(timeout=30) == 1, digest.output
    assert digest.last_error_line.startswith("Error: the database could not be used: ")
    assert "could not renew the lease" in digest.stderr
    assert "Traceback" not in digest.stderr, digest.output

    # Nothing half-written: request 2 ran, but neither it nor its job says so.
    first, second, third = requests_of(session, job)
    assert first.job.state == JobState.RUNNING
    assert (first.state, history(first)) == (RequestState.SUCCEEDED, [("succeeded", None)])
    assert (second.state, second.attempts, second.history) == (RequestState.RUNNING, 0, [])
    assert (third.state, third.history) == (RequestState.PENDING, [])

    proxy.accept()
    wait_until(lambda: lease_expired(session, job), timeout=10, what="the lease to expire")
    assert_clean_exit(digests.run(**through_proxy), expected=("lease expired",))
    assert_clean_exit(digests.run(**through_proxy))
    first, second, third = requests_of(session, job)
    assert first.job.state == JobState.COMPLETED
    assert history(second) == [("failed", INTERRUPTED), ("succeeded", None)]
    # At least once: request 2 ran to its end twice, the first outcome lost with the server.
    assert [r.position for r in executed(session)] == [0, 1, 1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", SERVERS, indirect=True)
def test_the_server_going_away_with_4_in_flight_stops_the_digest_with_nothing_half_written(
        session, digests, proxy, db_url, tmp_path):
    marker = tmp_path / "go-on"
    jobs = save(session, [recorded_job({}, {"until": str(marker)}, {}) for _ in range(4)])
    through_proxy = dict(url=proxy.url_for(db_url), EXECUTIONS_URL=db_url,
                         QUEUE_CONCURRENCY=4, QUEUE_DB_WAIT_SECONDS=2, **LEASE)
    digest = digests.start(**through_proxy)
    wait_until(lambda: all(running(session, job, 1) for job in jobs),
               what="4 requests in flight")
    proxy.refuse()
    assert kill_connections(session, proxy.server_ports()) >= 1
    marker.touch()
    assert digest.wait(timeout=30) == 1, digest.output
    assert digest.last_error_line.startswith("Error: the database could not be used: ")
    assert "Traceback" not in digest.stderr, digest.output
    for job in jobs:
        first, second, third = requests_of(session, job)
        assert first.job.state == JobState.RUNNING
        assert (second.state, second.attempts, second.history) == (RequestState.RUNNING, 0, [])
        assert (third.state, third.history) == (RequestState.PENDING, [])

    proxy.accept()
    wait_until(lambda: all(lease_expired(session, job) for job in jobs), timeout=10,
               what="the leases to expire")
    assert_clean_exit(digests.run(**through_proxy), expected=("lease expired",))
    assert_clean_exit(digests.run(**through_proxy))
    for job in jobs:
        first, second, third = requests_of(session, job)
        assert first.job.state == JobState.COMPLETED
        assert history(second) == [("failed", INTERRUPTED), ("succeeded", None)]
        assert history(third) == [("succeeded", None)]


@pytest.mark.parametrize("kind", SERVERS)
def test_a_server_that_is_not_there_stops_the_digest_with_one_clear_line(kind, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = sa.make_url(databases.SERVERS[kind]).set(port=port, database="queue")
    # Not waited for (a refused connection is, QUEUE_DB_WAIT_SECONDS, default 60).
    digest = Digests(url.render_as_string(hide_password=False), tmp_path).run(
        timeout=30, QUEUE_DB_WAIT_SECONDS=0)
    assert digest.popen.returncode == 1
    line, = digest.stderr.splitlines()
    assert line.startswith("Error: the database could not be used: ")
    assert "Connection refused" in line


@pytest.mark.parametrize(("content", "message"), [
    (b"not a database " * 100, "file is not a database"),
    (None, "unable to open database file"),  # its folder does not exist
], ids=["not-a-database", "missing-folder"])
def test_a_sqlite_file_it_cannot_use_stops_the_digest_with_one_clear_line(
        tmp_path, content, message):
    path = tmp_path / "data" / "queue.db"
    if content is not None:
        path.parent.mkdir()
        path.write_bytes(content)
    digest = Digests(f"sqlite:///{path}", tmp_path).run(timeout=30)
    assert digest.popen.returncode == 1
    assert digest.stderr.splitlines() == [f"Error: the database could not be used: {message}"]


def test_an_empty_database_stops_the_digest_and_says_to_migrate(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        kind = "postgresql" if db_url.startswith("postgresql") else "mariadb"
        url = databases.server_url(kind, f"{databases.NAME}_empty")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        engine.dispose()
    digest = Digests(url, tmp_path).run(timeout=30)
    assert digest.popen.returncode == 1
    assert digest.stderr.splitlines() == [NO_TABLES]
