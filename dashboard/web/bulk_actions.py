"""Bulk actions: on the selected rows, or on every job matching the list's filter.

The first POST shows how many jobs will change and asks to confirm; the confirmed POST
acts. A confirmation over a filter carries the newest matching id (``upto``), so jobs
that arrive after it was shown are never swept in.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..actions import bulk
from ..app.extensions import db
from ..auth.models import Role
from ..auth.roles import require
from ..queries.filters import PARAMETERS, BadFilter, parse_filter, parse_id
from ..queries.jobs import check_filter
from ..queries.search import time_limit
from ..queue.jobs.models import Job
from ..queue.operations import actions
from .templating import now

bp = Blueprint("bulk", __name__, url_prefix="/jobs")


@bp.post("/bulk")
@require(Role.OPERATOR)
def act():
    """Confirm, then apply, an action to the selected jobs or to all matching the filter."""
    form = request.form
    action = form.get("action", "")
    if action not in actions.BULK:
        abort(400, f"Unknown bulk action {action!r}: use {', '.join(actions.BULK)}.")
    if actions.ACTIONS[action].admin_only and not current_user.can(Role.ADMIN):
        abort(403, f"Only an administrator may {action} jobs: your role is "
                   f"{current_user.role}.")
    found = parse_filter({k: form.getlist(k) for k in PARAMETERS if k in form})
    # A text search reads under DASHBOARD_SEARCH_TIMEOUT_MS, as the job list does.
    with time_limit(db.session(), found, current_app.config["DASHBOARD_SEARCH_TIMEOUT_MS"]):
        check_filter(db.session, found)
        back = url_for("jobs.index", **found.to_params())
        cap = current_app.config["DASHBOARD_BULK_LIMIT"]
        scope = form.get("scope", "selected")
        try:
            bulk.check_scope(scope, found)
        except bulk.ScopeRefused as refusal:
            abort(400, f"Nothing changed: {refusal}.")
        if scope == "selected":
            selected = _selected_ids(form.getlist("job"), cap)
            if not selected:
                flash("Select at least one job first (or act on every job matching the filter).",
                      "error")
                return redirect(back, code=303)
            ids = _applicable(selected, action)
            count, upto = len(ids), None
        else:  # "filter", or "all" (the empty filter)
            upto = (parse_id("upto", form.get("upto"))
                    or bulk.newest_match(db.session, found, action))
            count = bulk.count_for_action(db.session, found, action, upto=upto, cap=cap)
            ids = None
        shown = min(count, cap)
        permanent = bulk.count_permanent(db.session, found, action, upto=upto, ids=ids, cap=cap) \
            if action == "retry" and count else 0
        typed = actions.ACTIONS[action].destructive and shown > bulk.TYPED_ABOVE
        mistyped = typed and form.get("confirm") == "yes" and _number(form.get("typed")) != shown
        again = permanent and form.get("confirm") == "yes" and form.get("permanent") != "yes"
        if form.get("confirm") != "yes" or mistyped or again:
            left_out = {} if scope == "selected" else bulk.left_out(
                db.session, found, action, upto=upto, cap=cap)
            return render_template(
                "jobs/confirm_bulk.html", action=action, verb=actions.ACTIONS[action].label,
                done=actions.ACTIONS[action].past, destructive=actions.ACTIONS[action].destructive,
                scope=scope, count=shown, more=count > cap, cap=cap, upto=upto, found=found,
                params=found.to_params(), selected=ids or [], back=back,
                refused=len(selected) - count if scope == "selected" else 0,
                left_out=left_out, permanent=permanent, again=again, typed=typed,
                mistyped=form.get("typed", "") if mistyped else None), 400 if mistyped else 200
        if ids is None:
            ids = bulk.ids_for_action(db.session, found, action, upto=upto, cap=cap)
    actor = current_user.name  # read before the rollback, which expires the user
    db.session.rollback()  # end the reads: the writes take a transaction of their own
    done = bulk.apply_bulk(
        db.session, action, ids, actor=actor, now=now(),
        filter=None if scope == "selected" else found.to_params())
    db.session.commit()
    _report(action, done.changed, done.refused)
    # The result is the jobs it changed, as they go on: the list of its audit entry.
    return redirect(back if done.entry_id is None
                    else url_for("jobs.index", audit=done.entry_id), code=303)


def _number(typed: str | None) -> int | None:
    """A number as an operator types it: "10000", "10,000" or "10 000"."""
    text = (typed or "").replace(",", "").replace(" ", "").replace("\u202f", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _selected_ids(raw: list[str], cap: int) -> list[int]:
    ids = []
    for value in raw:
        job_id = parse_id("job", value)
        if job_id is not None:
            ids.append(job_id)
    if len(ids) > cap:
        raise BadFilter("job", f"{len(ids)} ids", f"more than the bulk limit of {cap}")
    return sorted(set(ids), reverse=True)


def _applicable(ids: list[int], action: str) -> list[int]:
    """The selected jobs the action applies to as they are now."""
    return list(db.session.scalars(
        sa.select(Job.id).where(Job.id.in_(ids), Job.state.in_(actions.APPLIES_TO[action]))
        .order_by(Job.id.desc())))


def _report(action: str, changed: list[int], refused: dict[int, str]) -> None:
    done = actions.ACTIONS[action].past
    if changed:
        flash(f"{len(changed):,} job(s) {done}.", "success")
    if refused:
        first = next(iter(refused.values()))
        flash(f"{len(refused):,} job(s) left unchanged (they changed meanwhile), e.g.: {first}.",
              "warning")
    if not changed and not refused:
        flash(f"No job could be {done}: nothing changed.", "error")
