"""Every write path waits for SQLite's write lock instead of failing with "database is
locked" while the digest writes (each of these was a 500 before).

A second connection plays the digest: it holds the write lock and writes while the request
runs, then commits. A transaction that had read before that commit can no longer write
(SQLite refuses it at once, whatever the busy timeout); one that began IMMEDIATE waits its
turn. tests/deploy/test_load.py checks the same with gunicorn and a real digest.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from dashboard.api import tokens
from dashboard.audit import AuditEntry
from dashboard.auth.models import LoginFailure, User
from dashboard.queue import Job
from dashboard.queue.jobs.models import AttemptHour, Request
from tests.support.factories import save_job
from tests.support.web import PASSWORD, csrf_token

HOLD = 0.5


@pytest.fixture
def digest_writes(db_url: str):
    """digest_writes() -> a context in which another connection writes, as the digest does."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock; the others lock rows")
    path = sa.make_url(db_url).database

    @contextmanager
    def holding() -> Iterator[None]:
        locked = threading.Event()

        def write() -> None:
            connection = sqlite3.connect(path, isolation_level=None, timeout=10)
            try:
                connection.execute("BEGIN IMMEDIATE")
                locked.set()
                threading.Event().wait(HOLD)
                connection.execute("UPDATE requests SET updated_at = updated_at")
                connection.execute("PRAGMA user_version = 7")  # a change, whatever the rows
                connection.execute("COMMIT")
            finally:
                connection.close()

        writer = threading.Thread(target=write)
        writer.start()
        locked.wait(10)
        try:
            yield
        finally:
            writer.join(10)
    return holding


def test_a_failed_login_is_counted(app, users, session, digest_writes):
    client = app.test_client()
    with digest_writes():
        response = client.post("/login", data={"name": "operator", "password": "wrong",
                                               "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 401
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 1


def test_a_login_goes_through(app, users, digest_writes):
    client = app.test_client()
    token = csrf_token(client, "/login")
    with digest_writes():
        response = client.post("/login", data={"name": "operator", "password": PASSWORD,
                                               "csrf_token": token})
    assert response.status_code == 302


def test_an_action_goes_through(operator, session, clock, digest_writes):
    job = save_job(session, clock, ("test_echo", {"n": 1}))
    token = csrf_token(operator)
    with digest_writes():
        response = operator.post(f"/jobs/{job.id}/pause", data={"csrf_token": token})
    assert response.status_code == 303
    session.rollback()
    assert session.get(Job, job.id).state == "paused"


def test_a_bulk_action_goes_through(operator, session, clock, digest_writes):
    ids = [save_job(session, clock, ("test_echo", {"n": n})).id for n in range(3)]
    form = {"csrf_token": csrf_token(operator), "action": "pause", "scope": "selected",
            "job": [str(i) for i in ids], "confirm": "yes"}
    with digest_writes():
        response = operator.post("/jobs/bulk", data=form)
    assert response.status_code == 303
    session.rollback()
    assert set(session.scalars(sa.select(Job.state))) == {"paused"}


def test_an_admin_creates_a_user(admin, session, digest_writes):
    form = {"csrf_token": csrf_token(admin, "/users"), "name": "carol", "role": "viewer",
            "password": "a long enough password"}
    with digest_writes():
        response = admin.post("/users", data=form)
    assert response.status_code == 302
    session.rollback()
    assert session.scalar(sa.select(User.id).where(User.name == "carol")) is not None
    assert session.scalar(sa.select(AuditEntry.action)) == "user-create"


@pytest.fixture
def secret(session, clock) -> str:
    _, made = tokens.create(session, "app", "operator", now=clock.now)
    session.commit()
    return made


def test_an_api_enqueue_goes_through(app, session, secret, digest_writes):
    body = {"requests": [{"type_code": "test_echo", "payload": {"n": 1}}]}
    with digest_writes():
        response = app.test_client().post("/api/v1/jobs", json=body,
                                          headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 201
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 1


def test_an_api_read_notes_the_token_use(app, session, secret, digest_writes):
    # A GET whose token is used for the first time in a minute writes last_used_at.
    with digest_writes():
        response = app.test_client().get("/api/v1/jobs",
                                         headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    session.rollback()
    assert tokens.named(session, "app").last_used_at is not None


def test_the_overview_stores_its_hourly_counts(viewer, session, digest_writes):
    # Its first view computes the settled hours and keeps them.
    with digest_writes():
        response = viewer.get("/")
    assert response.status_code == 200
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(AttemptHour)) > 0


@pytest.mark.parametrize("args", [
    ["tokens", "create", "feeder", "--role", "enqueue"],
    ["users", "create", "dave", "--role", "viewer", "--password-stdin"],
])
def test_the_cli_creates_users_and_tokens(runner, session, digest_writes, args):
    with digest_writes():
        result = runner.invoke(args=args, input="a long enough password\n")
    assert result.exit_code == 0, result.output
    session.rollback()
    assert session.scalar(sa.select(AuditEntry.action)) in ("token-create", "user-create")
