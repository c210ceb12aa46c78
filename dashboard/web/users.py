"""Admins manage users: list, create, change a role, remove."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..app.extensions import db
from ..auth.models import Role, User, check_role, new_user
from ..auth.roles import require

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("")
@require(Role.ADMIN)
def index(removing: User | None = None):
    """Every user and their role, with the forms to manage them."""
    users = db.session.scalars(sa.select(User).order_by(User.name)).all()
    return render_template("users/index.html", users=users, roles=list(Role), removing=removing)


@bp.post("")
@require(Role.ADMIN)
def create():
    """Create a user."""
    form = request.form
    try:
        user = new_user(form.get("name", ""), form.get("role", ""), form.get("password", ""))
    except ValueError as error:
        message = str(error)
        return _back(message[:1].upper() + message[1:] + ".", "error")
    if db.session.scalar(sa.select(User.id).where(User.name == user.name)):
        return _back(f"A user named {user.name} already exists.", "error")
    db.session.add(user)
    audit.record(db.session, current_user.name, "user-create", [],
                 detail=f"created {user.name} ({user.role})")
    return _back(f"Created {user.name} ({user.role}).", "success")


@bp.post("/<int:user_id>/role")
@require(Role.ADMIN)
def change_role(user_id: int):
    """Give a user another role."""
    user = db.get_or_404(User, user_id)
    try:
        role = check_role(request.form.get("role", ""))
    except ValueError as error:
        abort(400, str(error))
    if user.id == current_user.id and role != Role.ADMIN:
        return _back("You can't take away your own admin role.", "error")
    before, user.role = user.role, role.value
    audit.record(db.session(), current_user.name, "user-role", [],
                 detail=f"{user.name}: {before} -> {role.value}")
    return _back(f"{user.name} is now {role.value}.", "success")


@bp.post("/<int:user_id>/delete")
@require(Role.ADMIN)
def delete(user_id: int):
    """Remove a user, once confirmed; their sessions end with it."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        return _back("You can't remove yourself.", "error")
    if request.form.get("confirm") != "yes":
        return index(removing=user)
    name = user.name
    db.session.delete(user)
    audit.record(db.session(), current_user.name, "user-delete", [], detail=f"removed {name}")
    return _back(f"Removed {name}.", "success")


def _back(message: str, category: str):
    """Say how it went, on the users page."""
    flash(message, category)
    return redirect(url_for(".index"))
