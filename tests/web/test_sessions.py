"""Server-side sessions: logout, expiry and a new password end them for every copy of the
cookie; login starts a fresh cookie (a new CSRF token)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.auth.models import LoginSession, User
from tests.support.busy import digest_running
from tests.support.web import csrf_token, post, text
from tests.support.web import submit_login as login


def copy_of(app, client):
    """Another browser holding the same cookie (as a thief would)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def user_named(session, name: str) -> User | None:
    session.rollback()
    return session.scalar(sa.select(User).where(User.name == name))


def test_a_cookie_copied_before_logout_no_longer_works_after_it(app, users, session):
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    thief = copy_of(app, client)
    token = csrf_token(thief, "/users")  # the copy works, for now
    assert post(client, "/logout").headers["Location"] == "/login"

    assert thief.get("/").status_code == 302
    assert thief.get("/users").headers["Location"].startswith("/login")
    refused = thief.post("/users", data={"csrf_token": token, "name": "mallory",
                                         "role": "admin", "password": "long enough"})
    assert refused.status_code == 401
    assert user_named(session, "mallory") is None


def test_logout_ends_only_that_session(app, users):
    first, second = app.test_client(), app.test_client()
    login(first, "viewer")
    login(second, "viewer")
    post(first, "/logout")
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 200


@pytest.mark.parametrize(("minutes", "works"), [
    (59, True),    # within DASHBOARD_SESSION_IDLE_MINUTES (60)
    (60, False),   # idle for an hour: over
])
def test_a_session_ends_after_an_hour_without_a_request(app, users, clock, minutes, works):
    client = app.test_client()
    login(client, "viewer")
    clock.advance(minutes=minutes)
    assert client.get("/").status_code == (200 if works else 302)


def test_each_request_pushes_the_idle_expiry_back(app, users, clock):
    client = app.test_client()
    login(client, "viewer")
    for _ in range(4):  # two hours and a half in all, never idle an hour
        clock.advance(minutes=40)
        assert client.get("/").status_code == 200


def test_a_session_ends_after_twelve_hours_however_active(app, users, clock):
    client = app.test_client()
    login(client, "viewer")
    for _ in range(23):  # 11 h 30 min
        clock.advance(minutes=30)
        assert client.get("/").status_code == 200
    clock.advance(minutes=30)
    assert client.get("/").status_code == 302


def test_session_hours_and_idle_minutes_are_settings(app, users, clock):
    app.config.update(DASHBOARD_SESSION_HOURS=1, DASHBOARD_SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    login(client, "viewer")
    clock.advance(minutes=4)
    assert client.get("/").status_code == 200
    clock.advance(minutes=5)
    assert client.get("/").status_code == 302


def test_the_csrf_token_changes_at_login(app, users, session):
    client = app.test_client()
    before = csrf_token(client, "/login")
    assert login(client, "admin").status_code == 302
    # A token planted or read before login is refused after it...
    refused = client.post("/users", data={"csrf_token": before, "name": "mallory",
                                          "role": "viewer", "password": "long enough"})
    assert refused.status_code == 400
    assert "CSRF" in text(refused) or "security token" in text(refused)
    assert user_named(session, "mallory") is None
    # ...and the page's new one works.
    assert csrf_token(client, "/users") != before
    assert post(client, "/users", {"name": "carol", "role": "viewer",
                                   "password": "long enough"}).status_code == 302
    assert user_named(session, "carol") is not None


def test_only_a_hash_of_the_session_key_is_stored(app, users, session):
    client = app.test_client()
    login(client, "viewer")
    session.rollback()
    stored = session.scalars(sa.select(LoginSession.key_hash)).all()
    assert len(stored) == 1 and len(stored[0]) == 64
    with client.session_transaction() as cookie:
        assert cookie["_user_id"] not in stored[0]


@pytest.mark.parametrize("key", ["", "x" * 5000, "not-a-key", 12])
def test_a_forged_session_key_gets_the_login_page(app, users, key):
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = key
    assert client.get("/").status_code == 302


def test_a_new_password_ends_the_users_sessions(app, users, runner):
    client = app.test_client()
    login(client, "viewer")
    result = runner.invoke(args=["users", "set-password", "viewer", "--password-stdin"],
                           input="another password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302


def test_login_and_logout_work_while_a_digest_runs(app, users, session, db_url, tmp_path):
    with digest_running(session, db_url, tmp_path):
        for _ in range(10):
            client = app.test_client()
            assert login(client, "operator").status_code == 302
            assert client.get("/jobs").status_code == 200
            assert post(client, "/logout").status_code == 302
            assert client.get("/").status_code == 302
