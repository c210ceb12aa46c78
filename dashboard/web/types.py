"""The Types page: each request type's attempts, failures and run times over a window."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..app.extensions import db
from ..queries import types
from ..queries.filters import BadFilter
from ..queue import registry
from ..queue.store import pauses
from .templating import is_htmx, now

bp = Blueprint("types", __name__, url_prefix="/types")


@bp.get("")
def index():
    """Per type, over the last hour or day: attempts, failure rate, run time p50 and p95,
    and whether it is paused."""
    window = request.args.get("window", types.DEFAULT_WINDOW)
    if window not in types.WINDOWS:
        raise BadFilter("window", window, f"is not one of {', '.join(types.WINDOWS)}")
    paused = {p.type_code: p for p in pauses.listed(db.session())}
    report = types.by_type(db.session, now(), window, [*registry.codes(), *paused])
    template = "types/_table.html" if is_htmx() else "types/index.html"
    return render_template(template, report=report, paused=paused, windows=types.WINDOWS,
                           scanned=types.SCANNED, now=now())
