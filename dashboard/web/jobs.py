"""The job list and a job's page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from ..app.extensions import db
from ..queries.detail import job_detail
from ..queries.filters import PARAMETERS, WAITING, parse_filter, parse_id
from ..queries.jobs import check_filter, list_jobs
from ..queue.actions import APPLIES_TO
from ..queue.states import DUE_STATES, JobState
from ..queue.types import registry
from .templating import is_htmx

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("")
def index():
    """Jobs matching the filters in the URL, newest first, a page at a time."""
    found = parse_filter(request.args.to_dict(flat=False), extra=("before",))
    before = parse_id("before", request.args.get("before"))
    check_filter(db.session, found)
    page = list_jobs(db.session, found, before=before)
    template = "jobs/_table.html" if is_htmx() else "jobs/index.html"
    return render_template(template, page=page, found=found, params=found.to_params(),
                           before=before, states=list(JobState), parameters=PARAMETERS,
                           waiting_kinds=WAITING,
                           bulk_limit=current_app.config["DASHBOARD_BULK_LIMIT"],
                           type_codes=registry.codes())


@bp.get("/<int:job_id>")
def detail(job_id: int):
    """One job: its fields, requests, payloads, attempt history and operator actions."""
    return render_job(job_id)


def render_job(job_id: int, *, confirm: str | None = None, status: int = 200):
    """The job's page, or only its fragment for htmx (after an action, or while polling)."""
    found = job_detail(db.session(), job_id)
    if found is None:
        abort(404, f"Job #{job_id} does not exist (it may have been cleaned up).")
    template = "jobs/_job.html" if is_htmx() else "jobs/detail.html"
    return render_template(template, detail=found, job=found.job, confirm=confirm,
                           applies=applicable(found.job.state),
                           runnable=found.job.state in DUE_STATES), status


def applicable(state: JobState) -> list[str]:
    """The actions that apply to a job in this state, in the order the page shows them."""
    return [action for action in ("retry", "pause", "resume", "cancel")
            if state in APPLIES_TO[action]]
