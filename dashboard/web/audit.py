"""The audit log page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import audit
from ..app.extensions import db
from ..queries.filters import BadFilter, parse_id

bp = Blueprint("audit", __name__, url_prefix="/audit")

KNOWN = ("before", "actor", "job")


@bp.get("")
def index():
    """Who did what to which jobs, newest first; filter by actor or job."""
    for name in request.args:
        if name not in KNOWN:
            raise BadFilter(name, request.args[name],
                            f"unknown filter (known: {', '.join(KNOWN)})")
    actor = request.args.get("actor", "").strip() or None
    job_id = parse_id("job", request.args.get("job"))
    page = audit.entries(db.session, before=parse_id("before", request.args.get("before")),
                         actor=actor, job_id=job_id)
    return render_template("audit/index.html", page=page, actor=actor, job_id=job_id,
                           job_ids=audit.job_ids_of(db.session, page.entries))
