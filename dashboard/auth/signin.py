"""The Flask side of login sessions: the cookie holds the session's key, and each request's
user is the one of a live session with that key."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, session
from sqlalchemy.orm import Session

from ..app.extensions import db
from ..queue.database.write_lock import writing
from ..queue.jobs.settings import clock
from . import sessions
from .models import User

#: Where Flask-Login keeps the user's id in the cookie: here, the session's key.
COOKIE_KEY = "_user_id"


def lifetime() -> sessions.Lifetime:
    return sessions.Lifetime(
        absolute=timedelta(hours=current_app.config["DASHBOARD_SESSION_HOURS"]),
        idle=timedelta(minutes=current_app.config["DASHBOARD_SESSION_IDLE_MINUTES"]))


def sign_in(key: str) -> None:
    """Start a fresh cookie for the new session: nothing of the visitor's earlier cookie
    survives login, the CSRF token included (a token planted before login is useless)."""
    session.clear()
    session[COOKIE_KEY] = key
    session["_fresh"] = True


def load_user(key: str) -> User | None:
    """Flask-Login's user loader: the user of the live session with this key, or None."""
    now = clock()
    found = sessions.find(db.session(), key, now=now, lifetime=lifetime())
    if found is None:
        return None
    user_id = found.user_id
    if sessions.needs_touch(found, now):
        _touch(db.session(), found.id, now)
    return db.session.get(User, user_id)


def _touch(session: Session, session_id: int, now: datetime) -> None:
    """Push the idle expiry back, in a short write transaction of its own."""
    if session.new or session.dirty or session.deleted:
        return  # the request's own changes come first; the next request touches it
    with writing(session):
        sessions.touch(session, session_id, now=now)

