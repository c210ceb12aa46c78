"""A health check for load balancers and monitors: no login, no page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint

from ..extensions import db

bp = Blueprint("health", __name__)


@bp.get("/health")
def check():  # noqa: ANN201
    """200 when the database answers, 503 (saying why) when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        return {"status": "error", "database": reason}, 503
    return {"status": "ok"}
