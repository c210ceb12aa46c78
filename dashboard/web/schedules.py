"""The Schedules page: each recurring schedule entry, its last and next run."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..app.extensions import db
from ..queue import recurring
from ..queue.settings import current
from .templating import now

bp = Blueprint("schedules", __name__, url_prefix="/schedules")


@bp.get("")
def index():
    """QUEUE_SCHEDULE's entries with their last slot's job and their next slot."""
    entries = current().settings.schedule
    shown = recurring.status(db.session, entries, now())
    return render_template("schedules/index.html", entries=shown)
