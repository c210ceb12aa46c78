"""The Digests page: every digest process running, and what it is running."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..extensions import db
from ..queue import processes
from ..queue.settings import default_settings
from .templating import is_htmx, now

bp = Blueprint("digests", __name__, url_prefix="/digests")


@bp.get("")
def index():  # noqa: ANN201
    """Each digest's host, pid, start, last heartbeat, concurrency and requests in flight."""
    lease = default_settings().lease_seconds
    moment = now()
    found = processes.running(db.session, now=moment, lease_seconds=lease)
    template = "digests/_table.html" if is_htmx() else "digests/index.html"
    return render_template(template, digests=found, now=moment,
                           stale_after=processes.stale_after(lease),
                           kept=processes.KEPT_AFTER_SILENCE)
