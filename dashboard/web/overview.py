"""The overview: how the queue is doing right now."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template
from sqlalchemy.exc import IntegrityError

from ..app.extensions import db
from ..queries import errors, hourly, minutes, overview, waiting
from ..queue import registry
from ..queue.database.write_lock import writing
from ..queue.operations import stats
from ..queue.store import pauses
from .chart import minute_strip, stacked_bars
from .liveness import digest_alarm, oldest_due
from .templating import is_htmx, now

bp = Blueprint("overview", __name__)


@bp.get("/")
def index():
    """Jobs per state, due, blocked and scheduled, the oldest due job, top errors, requests
    per minute over the last hour, attempts per hour, failing types, the last run, the
    connectors' limits; an alarm when no digest runs."""
    moment = now()
    week = hourly.by_hour(db.session, moment, 24 * 7)
    if week.to_keep:
        _keep(week.to_keep)
    panels = dict(
        silence=digest_alarm(),
        counts=overview.state_counts(db.session),
        count_cap=overview.COUNT_CAP,
        waiting=waiting.waiting(db.session, moment, overview.COUNT_CAP),
        top_errors=errors.top_errors(db.session),
        scanned=errors.SCANNED,
        oldest_due=oldest_due(),
        strip=minute_strip(minutes.last_hour(db.session, moment)),
        day_chart=stacked_bars(week.totals(24)),
        week_chart=stacked_bars(week.totals()),
        failing=week.failing_types(24),
        last_run=overview.last_run(db.session),
        connectors=overview.connectors(db.session, moment),
        paused=pauses.listed(db.session()),
        type_codes=registry.codes(),
        now=moment,
    )
    template = "overview/_panels.html" if is_htmx() else "overview/index.html"
    return render_template(template, **panels)


def _keep(counted: dict[datetime, dict[str, tuple[int, int]]]) -> None:
    """Keep the settled hours this view counted: the next view reads them instead. In a
    transaction of its own that takes SQLite's write lock up front (this GET began a
    plain one, whose first write would fail while a digest writes)."""
    try:
        with writing(db.session()):
            stats.keep_hours(db.session(), counted)
    except IntegrityError:
        pass  # another worker kept the same hours at the same moment: theirs are as good
