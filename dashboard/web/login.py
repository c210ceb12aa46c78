"""Logging in and out."""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import logout_user
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..app.extensions import db
from ..auth import sessions, throttle
from ..auth.models import User
from ..auth.signin import COOKIE_KEY, lifetime, sign_in
from ..queue.database.write_lock import writing
from ..queue.jobs.settings import clock

bp = Blueprint("auth", __name__)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so that both answers take as long. Made
    at a process's first login, whatever its name: not at every start of a process that
    never checks a password (a digest, a command), and not only on an unknown name, which
    would make that one answer slower."""
    return generate_password_hash("not a password")


def safe_next(target: str | None) -> str:
    """A path on this site to go to after login; anything else goes to the overview."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("overview.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; check the name and password."""
    if request.method == "GET":
        return render_template("auth/login.html")
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    now = clock()
    refusal = throttle.wait_needed(db.session, name, address, now)
    if refusal is not None:
        db.session.rollback()
        return render_template("auth/login.html", error=refusal.message(name, address),
                               name=name), 429, {"Retry-After": str(_seconds(refusal))}
    with writing(db.session):
        throttle.record_failure(db.session, name, address, now)
    throttle.forget_old(db.session, now)
    user = _checked(name, password)
    if user is None:
        return render_template("auth/login.html", error="Wrong name or password.",
                               name=name), 401
    with writing(db.session):
        key = _start(db.session, user, name, now)
    sign_in(key)
    return redirect(safe_next(request.args.get("next")))


def _checked(name: str, password: str) -> User | None:
    """The user of this name and password, or None; as slow either way."""
    dummy = _dummy_hash()
    user = db.session.scalar(sa.select(User).where(User.name == name)) if name else None
    if user is None:
        check_password_hash(dummy, password)
    return user if user is not None and user.check_password(password) else None


def _start(session: Session, user: User, name: str, now: datetime) -> str:
    """A successful login: the account's failures stop counting; a new session starts."""
    throttle.forget_failures(session, name)
    sessions.forget_expired(session, now=now, lifetime=lifetime())
    return sessions.start(session, user, now=now)


def _seconds(refusal: throttle.Refusal) -> int:
    return max(1, int(refusal.wait.total_seconds() + 0.999))


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session, on the server: a copy of the cookie no longer works either."""
    key = session.get(COOKIE_KEY)
    if isinstance(key, str):
        with writing(db.session):
            sessions.end(db.session, key)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
