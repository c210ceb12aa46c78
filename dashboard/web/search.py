"""The header's search box: straight to the job or list an id or key names."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from ..app.extensions import db
from ..queries.filters import MAX_SEARCH_LENGTH, BadFilter
from ..queries.lookup import look_up

bp = Blueprint("search", __name__)


@bp.get("/go")
def go():
    """A job id, a unique key or a relation id: its job or list; other text: a search."""
    typed = request.args.get("q", "").strip()
    if not typed:
        return redirect(url_for("jobs.index"), code=303)
    if len(typed) > MAX_SEARCH_LENGTH or "\x00" in typed:
        raise BadFilter("q", typed[:40] + "...", f"is longer than {MAX_SEARCH_LENGTH} "
                                                 "characters, or holds a NUL character")
    found = look_up(db.session(), typed)
    if found.kind == "job":
        return redirect(url_for("jobs.detail", job_id=found.job_id), code=303)
    if found.kind == "relation":
        return redirect(url_for("jobs.index", relation=found.text), code=303)
    flash(f"No job id, unique key or relation is {found.text!r}: these are the jobs whose "
          "payload or failure reason holds it.", "message")
    return redirect(url_for("jobs.index", q=found.text), code=303)
