"""Operator actions on one job: retry, pause, resume, cancel, run now, delete (POST only)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..actions import one_job
from ..app.extensions import db
from ..auth.models import Role
from ..auth.roles import require
from ..queue.jobs.models import Job
from ..queue.operations.actions import ACTIONS
from .jobs import render_job
from .login import safe_next
from .templating import is_htmx, now

bp = Blueprint("actions", __name__, url_prefix="/jobs")


@bp.post("/<int:job_id>/<action>")
@require(Role.OPERATOR)
def act(job_id: int, action: str):
    """Apply an action to one job; an action that does not apply changes nothing."""
    if action not in one_job.OPERATIONS:
        abort(404, f"There is no action {action!r}: use {', '.join(one_job.OPERATIONS)}.")
    if ACTIONS[action].admin_only and not current_user.can(Role.ADMIN):
        abort(403, f"Only an administrator may {action} a job: your role is "
                   f"{current_user.role}.")
    db.get_or_404(Job, job_id, description=f"Job #{job_id} does not exist.")
    if action in ("cancel", "delete") and request.form.get("confirm") != "yes":
        return render_job(job_id, confirm=action)
    ok = perform(job_id, action)
    if ok and action == "delete":  # its page is gone: back to the list
        target = url_for("jobs.index")
        return ("", 200, {"HX-Redirect": target}) if is_htmx() else redirect(target, code=303)
    if is_htmx():
        return render_job(job_id, status=200 if ok else 409)
    return redirect(safe_next(request.form.get("next")) if request.form.get("next")
                    else url_for("jobs.detail", job_id=job_id), code=303)


def perform(job_id: int, action: str) -> bool:
    """The action and its audit entry (both or neither), told in a flash message."""
    try:
        done = one_job.perform(db.session(), action, job_id, actor=current_user.name,
                                  now=now(),
                                  run_seconds=current_app.config["DASHBOARD_RUN_SECONDS"])
        db.session.commit()
    except one_job.NoSuchJob:
        abort(404, f"Job #{job_id} does not exist (it may have been cleaned up).")
    except one_job.Refused as refusal:
        flash(f"Can't run job #{job_id} now: {refusal}." if action == "run"
              else f"Nothing changed: {refusal}.", "error")
        return False
    flash(done.message, "success" if done.outcome in (None, "completed") else "warning")
    return True
