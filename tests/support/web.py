"""Helpers for the dashboard's page tests: users, logins, CSRF tokens, form posts."""

from __future__ import annotations

import re
import secrets

from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from dashboard.app.extensions import db
from dashboard.auth import sessions
from dashboard.auth.models import Role, User
from dashboard.queue import JobDigest, QueueSettings
from dashboard.queue.jobs.settings import clock

PASSWORD = "correct horse"
#: A cheap hash: the tests log in often, and the real one (scrypt) is slow on purpose.
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(session, name: str, role: Role) -> User:
    user = User(name=name, role=role.value, password_hash=CHEAP_HASH,
                login_id=secrets.token_hex(16))
    session.add(user)
    session.commit()
    return user


def log_in(client: FlaskClient, user: User) -> FlaskClient:
    """A client with a live session of ``user``, started now (on the test's clock)."""
    key = sessions.start(db.session, user, now=clock())
    db.session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = key
        cookie["_fresh"] = True
    return client


def csrf_token(client: FlaskClient, url: str = "/jobs") -> str:
    match = TOKEN.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post(client: FlaskClient, url: str, data: dict | None = None, **kwargs):
    """POST with the session's CSRF token, as the page's forms do."""
    form = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(url, data=form, **kwargs)


def run_digest(session, clock) -> None:
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()


def text(response) -> str:
    return response.get_data(as_text=True)


def submit_login(client: FlaskClient, name: str, password: str = PASSWORD,
                 address: str = "10.0.0.1", headers: dict[str, str] | None = None):
    """Log in through the form, from ``address``, as a browser does."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})
