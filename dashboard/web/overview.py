"""The overview: how the queue is doing right now."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..app.extensions import db
from ..queries import errors, hourly, overview, waiting
from .chart import stacked_bars
from .templating import is_htmx, now

bp = Blueprint("overview", __name__)


@bp.get("/")
def index():
    """Jobs per state, due, blocked and scheduled, the oldest due job, top errors, attempts
    per hour, failing types, the last run, the connectors' limits; an alarm when no digest
    runs."""
    moment = now()
    week = hourly.by_hour(db.session, moment, 24 * 7)
    oldest_due = overview.oldest_due(db.session, moment)
    panels = dict(
        silence=overview.digest_silence(
            db.session, moment, current_app.config["QUEUE_DIGEST_EXPECTED_SECONDS"],
            oldest_due),
        counts=overview.state_counts(db.session),
        waiting=waiting.waiting(db.session, moment, overview.COUNT_CAP),
        top_errors=errors.top_errors(db.session),
        scanned=errors.SCANNED,
        oldest_due=oldest_due,
        day_chart=stacked_bars(week.totals(24)),
        week_chart=stacked_bars(week.totals()),
        failing=week.failing_types(24),
        last_run=overview.last_run(db.session),
        connectors=overview.connectors(db.session, moment),
        now=moment,
    )
    template = "overview/_panels.html" if is_htmx() else "overview/index.html"
    return render_template(template, **panels)
