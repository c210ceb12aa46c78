"""``GET /healthz``: does the database answer, and when did the digest last run.

For Docker's HEALTHCHECK and load balancers: no login (it is a blueprint of its own, so
the dashboard's login rule does not cover it), and it never tells more than "ok" or
"unavailable" (the reason goes to the log, not to whoever asks).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify

from ..queue import stats
from .extensions import db

bp = Blueprint("health", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with the last digest run's end when the database answers, 503 otherwise."""
    try:
        run = stats.last_digest_run(db.session())
    except Exception:  # whatever broke, the answer is the same: not healthy
        db.session.rollback()
        current_app.logger.warning("health check: the database did not answer", exc_info=True)
        return _no_store(jsonify(database="unavailable")), 503
    db.session.rollback()  # a read: end the transaction now
    last = run.finished_at.isoformat() if run else None
    return _no_store(jsonify(database="ok", last_digest_at=last)), 200


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
