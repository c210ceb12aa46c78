"""``GET /metrics``: the queue in Prometheus' text format, for a scraper holding a token.

Off unless ``METRICS_TOKEN`` is set (404); with it, a request without
``Authorization: Bearer <token>`` gets 401. Every value is read from the database at
scrape time, not counted in memory: each gunicorn worker (and each host) then answers
the same, and nothing is lost when a worker restarts.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy.orm import Session

from ..queries import overview
from ..queue.digest import processes
from ..queue.jobs.settings import clock
from ..queue.operations import stats
from .extensions import db

if TYPE_CHECKING:
    from prometheus_client.core import Metric

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response:
    """Job counts, recent request outcomes, the digest's last run and its age, the oldest
    due job."""
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    if not _bearer_matches(request.headers.get("Authorization", ""), token):
        return Response("a valid bearer token is required\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    # The metrics extra: imported when asked for (METRICS_TOKEN checked it is installed).
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(db.session(), now=clock(),
                                     window=current_app.config["METRICS_WINDOW"]))
    try:
        body = generate_latest(registry)
    except Exception:
        db.session.rollback()
        current_app.logger.warning("metrics: the database did not answer", exc_info=True)
        return Response("database unavailable\n", 503, mimetype="text/plain")
    db.session.rollback()
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class QueueCollector:
    """Reads the queue's figures when Prometheus asks for them."""

    def __init__(self, session: Session, *, now: datetime, window: float) -> None:
        self.session = session
        self.now = now
        self.window = window

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        # Counted as the overview counts them: exact up to overview.COUNT_CAP, so a
        # scrape never reads millions of index entries.
        by_state = GaugeMetricFamily(
            "asyncqueue_jobs", f"Jobs in each state: exact up to {overview.COUNT_CAP}, "
            "beyond that PostgreSQL's estimate (other databases: the cap).", labels=["state"])
        for counted in overview.state_counts(self.session):
            by_state.add_metric([counted.state.value], counted.count)
        yield by_state

        yield GaugeMetricFamily(
            "asyncqueue_metrics_window_seconds",
            "The window of the *_recent metrics (METRICS_WINDOW).", value=self.window)
        processed = GaugeMetricFamily(
            "asyncqueue_requests_processed_recent",
            "Request attempts finished in the window, by type.", labels=["type_code"])
        failed = GaugeMetricFamily(
            "asyncqueue_requests_failed_recent",
            "Request attempts that failed in the window, by type.", labels=["type_code"])
        totals: dict[str, int] = {}
        failures: dict[str, int] = {}
        since = self.now - timedelta(seconds=self.window)
        for (type_code, outcome), count in stats.attempts_by_type(
                self.session, since=since).items():
            totals[type_code] = totals.get(type_code, 0) + count
            if outcome == "failed":
                failures[type_code] = count
        for type_code, count in sorted(totals.items()):
            processed.add_metric([type_code], count)
            failed.add_metric([type_code], failures.get(type_code, 0))
        yield processed
        yield failed

        due = overview.oldest_due(self.session, self.now)
        yield GaugeMetricFamily(
            "asyncqueue_oldest_due_job_age_seconds",
            "How long the job a digest could take now has waited (0 when none is due).",
            value=0.0 if due is None else max(self.now - due.due_since, timedelta(0))
            .total_seconds())

        seen = processes.last_seen(self.session)
        if seen is not None:
            yield GaugeMetricFamily(
                "asyncqueue_digest_last_run_age_seconds",
                "Seconds since a digest last started a run or beat its heartbeat (absent "
                "before any digest ran).",
                value=max((self.now - seen).total_seconds(), 0.0))

        run = overview.last_run(self.session, finished=True)
        if run is not None and run.finished_at is not None:
            yield GaugeMetricFamily(
                "asyncqueue_digest_last_run_duration_seconds",
                "How long the digest's last finished run took.",
                value=(run.finished_at - run.started_at).total_seconds())
            yield GaugeMetricFamily(
                "asyncqueue_digest_last_run_timestamp_seconds",
                "When the digest's last finished run ended (Unix time).",
                value=run.finished_at.timestamp())
            yield GaugeMetricFamily(
                "asyncqueue_digest_last_run_jobs",
                "Jobs the digest's last finished run took.", value=run.jobs)
