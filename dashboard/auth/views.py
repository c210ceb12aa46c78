"""Logging in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..queue.settings import default_clock
from . import throttle
from .models import User

bp = Blueprint("auth", __name__)

#: Checked against when the name is unknown, so that both answers take as long.
_DUMMY_HASH = generate_password_hash("not a password")


def safe_next(target: str | None) -> str:
    """A path on this site to go to after login; anything else goes to the overview."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("overview.index")


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    """Show the login form; check the name and password."""
    if request.method == "GET":
        return render_template("auth/login.html")
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    now = default_clock()()
    wait = throttle.wait_needed(db.session, name, address, now)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        message = (f"Too many failed logins for {name or 'this name'} from {address}. "
                   f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
        return render_template("auth/login.html", error=message, name=name), 429
    user = db.session.scalar(sa.select(User).where(User.name == name)) if name else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
    if user is None or not user.check_password(password):
        throttle.record_failure(db.session, name, address, now)
        return render_template("auth/login.html", error="Wrong name or password.",
                               name=name), 401
    throttle.forget_failures(db.session, name, address)
    login_user(user)
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():  # noqa: ANN201
    """End the session."""
    logout_user()
    return redirect(url_for("auth.login"))
