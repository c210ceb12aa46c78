"""The Digests page: every digest process running, and what it is running."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..app.extensions import db
from ..queries import overview, waiting
from ..queue.digest import db_clock, processes
from ..queue.jobs.settings import current
from .liveness import digest_alarm
from .templating import is_htmx, now

bp = Blueprint("digests", __name__, url_prefix="/digests")


@bp.get("")
def index():
    """Each digest's host, pid, start, last heartbeat, concurrency and requests in flight."""
    moment = now()
    found = processes.running(db.session, now=moment)
    silence = digest_alarm()
    skew = current().settings.clock_skew_warn
    skewed = db_clock.skewed_hosts(db.session, now=moment, warn_over=skew)
    template = "digests/_table.html" if is_htmx() else "digests/index.html"
    return render_template(
        template, digests=found, now=moment, missed=processes.MISSED_BEATS,
        kept=processes.KEPT_AFTER_SILENCE, silence=silence, skewed=skewed, skew=skew,
        last_seen=processes.last_seen(db.session),
        due=waiting.waiting(db.session, moment, overview.COUNT_CAP).due if silence else None)
