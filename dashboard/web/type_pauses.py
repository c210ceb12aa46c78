"""Pause or resume a request type, or a connector, from the overview (POST only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from ..actions import pauses as pause_actions
from ..app.extensions import db
from ..auth.models import Role
from ..auth.roles import require
from .login import safe_next
from .templating import now

bp = Blueprint("pauses", __name__)


@bp.post("/types/pause")
@require(Role.OPERATOR)
def pause_chosen():
    """Pause the type chosen in the overview's form (``type_code``)."""
    name = request.form.get("type_code", "").strip()
    if not name:
        abort(400, "Choose a request type to pause.")
    return change("types", name, "pause")


@bp.post("/<any(types, connectors):kind>/<name>/<any(pause, resume):verb>")
@require(Role.OPERATOR)
def change(kind: str, name: str, verb: str):
    """Pause or resume a type (or a connector's types); told in a flash message."""
    act = pause_actions.pause if verb == "pause" else pause_actions.resume
    try:
        done = act(db.session(), kind.removesuffix("s"), name, actor=current_user.name,
                      now=now())
    except pause_actions.PauseRefused as refusal:
        db.session.rollback()
        said = str(refusal)
        abort(404, f"{said[:1].upper()}{said[1:]}.")
    db.session.commit()
    flash(done.message, "success" if done.changed else "warning")
    target = request.form.get("next")
    return redirect(safe_next(target) if target else url_for("overview.index"), code=303)
