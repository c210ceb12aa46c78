"""Operator actions on one job: retry, pause, resume, cancel, run now (POST only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from .. import audit
from ..auth.models import Role
from ..auth.roles import require
from ..auth.views import safe_next
from ..extensions import db
from ..queue import JobDigest, NotRunnable, actions
from ..queue.models import Job
from .jobs import render_job
from .templating import is_htmx, now

bp = Blueprint("actions", __name__, url_prefix="/jobs")

DONE = {"retry": "is due again", "pause": "is paused", "resume": "is resumed",
        "cancel": "is cancelled"}


@bp.post("/<int:job_id>/<action>")
@require(Role.OPERATOR)
def act(job_id: int, action: str):  # noqa: ANN201
    """Apply an action to one job; an action that does not apply changes nothing."""
    if action not in (*actions.ACTIONS, "run"):
        abort(404, f"There is no action {action!r}: use retry, pause, resume, cancel or run.")
    job = db.get_or_404(Job, job_id, description=f"Job #{job_id} does not exist.")
    if action == "cancel" and request.form.get("confirm") != "yes":
        return render_job(job_id, confirm="cancel")
    ok = run_now(job) if action == "run" else apply_one(job_id, action)
    if is_htmx():
        return render_job(job_id, status=200 if ok else 409)
    return redirect(safe_next(request.form.get("next")) if request.form.get("next")
                    else url_for("jobs.detail", job_id=job_id), code=303)


def apply_one(job_id: int, action: str) -> bool:
    """The action and its audit entry, in one transaction: both or neither."""
    try:
        actions.ACTION_FUNCTIONS[action](db.session, job_id, now())
        audit.record(db.session, current_user.name, action, [job_id], at=now())
    except actions.ActionRefused as refusal:
        db.session.rollback()
        flash(f"Nothing changed: {refusal}.", "error")
        return False
    flash(f"Job #{job_id} {DONE[action]}.", "success")
    return True


def run_now(job: Job) -> bool:
    """Run the job through the digest here and now, and say how it went."""
    job_id = job.id
    try:
        result = JobDigest(db.session).set_job(job).execute()
    except NotRunnable as refusal:
        db.session.rollback()
        flash(f"Can't run job #{job_id} now: {refusal}.", "error")
        return False
    outcome = result.outcomes.get(job_id, "unchanged")
    summary = (f"{result.succeeded} request(s) succeeded, {result.failed} failed, "
               f"{result.retrying} retrying, in {result.seconds:.2f} s")
    audit.record(db.session, current_user.name, "run", [job_id], detail=f"{outcome}: {summary}",
                 at=now())
    flash(f"Job #{job_id} ran: now {outcome}; {summary}.",
          "success" if outcome == "completed" else "warning")
    return True
