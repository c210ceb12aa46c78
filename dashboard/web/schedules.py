"""The Schedules page: each recurring schedule entry, its last and next runs, and the
operator's switches: enqueue now, disable, enable (POST only, audited)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from .. import audit
from ..app.extensions import db
from ..auth.models import Role
from ..auth.roles import require
from ..queue.jobs.settings import current
from ..queue.operations import schedules
from ..queue.operations.cron_words import describe
from ..queue.operations.recurring import Entry
from .templating import now

bp = Blueprint("schedules", __name__, url_prefix="/schedules")


@bp.get("")
def index():
    """QUEUE_SCHEDULE's entries with their last slot's job and their next slots."""
    shown = schedules.status(db.session, current().settings.schedule, now())
    return render_template("schedules/index.html", entries=shown, describe=describe)


@bp.post("/<name>/enqueue")
@require(Role.OPERATOR)
def enqueue(name: str):
    """Make one job of the entry now, outside its slots."""
    entry = _entry(name)
    moment = now()
    session = db.session()
    job = schedules.enqueue_now(session, entry, moment)
    audit.record(session, current_user.name, "schedule-enqueue", [job.id],
                 detail=f"schedule {name}", at=moment)
    db.session.commit()
    flash(f"Job #{job.id} enqueued now for schedule {name}.", "success")
    return redirect(url_for("schedules.index"), code=303)


@bp.post("/<name>/<any(disable, enable):switch>")
@require(Role.OPERATOR)
def toggle(name: str, switch: str):
    """Switch an entry off (it makes no jobs) or on again."""
    entry = _entry(name)
    moment = now()
    session = db.session()
    if schedules.set_disabled(session, entry, switch == "disable", moment):
        audit.record(session, current_user.name, f"schedule-{switch}", [],
                     detail=f"schedule {name}", at=moment)
        db.session.commit()
        flash(f"Schedule {name} is {switch}d.", "success")
    else:
        db.session.rollback()
        flash(f"Nothing changed: schedule {name} was {switch}d already.", "warning")
    return redirect(url_for("schedules.index"), code=303)


def _entry(name: str) -> Entry:
    for entry in current().settings.schedule:
        if entry.name == name:
            return entry
    abort(404, f"There is no schedule entry {name!r} in QUEUE_SCHEDULE.")
