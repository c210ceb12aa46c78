"""The job list and a job's page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..app.extensions import db
from ..auth.models import Role
from ..queries import waiting
from ..queries.blockers import WHY, blockers
from ..queries.detail import job_detail, request_part
from ..queries.filters import (
    FILTER_STATES,
    MAX_ID,
    PARAMETERS,
    WAITING,
    BadFilter,
    ShownState,
    parse_filter,
    parse_id,
    whole_number,
)
from ..queries.followed import followed
from ..queries.jobs import check_filter, conditions, jobs, list_jobs
from ..queries.ordering import COUNT_CAP, SORTS, capped_count, parse_cursor, parse_sort
from ..queries.search import time_limit
from ..queue.jobs.states import DUE_STATES, JobState
from ..queue.jobs.types import registry
from ..queue.operations.actions import ACTIONS, BULK, applicable
from .templating import is_htmx

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


#: A job's page polls while the job may change by itself: due, running or retrying.
LIVE_STATES = (*DUE_STATES, JobState.RUNNING)
#: URL parameters of the list besides the filter: its order and where its page starts.
LIST_PARAMETERS = ("sort", "before", "cursor", "seen")


@bp.get("")
def index():
    """Jobs matching the filters in the URL, in the chosen order, a page at a time; a bad
    filter is shown next to its field, with the form as typed."""
    shared = dict(states=FILTER_STATES, parameters=PARAMETERS, sorts=SORTS,
                  waiting_kinds=WAITING,
                  bulk_limit=current_app.config["DASHBOARD_BULK_LIMIT"],
                  bulk_actions=[ACTIONS[code] for code in BULK],
                  type_codes=registry.codes())
    try:
        listing = _listing(request.args)
    except BadFilter as problem:
        typed = {name: request.args.get(name, "") for name in (*PARAMETERS, "sort")}
        return render_template(_template(), problem=problem, typed=typed, **shared), 400
    return render_template(_template(), problem=None, typed=None, **listing, **shared)


def _template() -> str:
    """The whole page; the list and the form for the filter form's htmx requests; the
    list alone for polls and page links."""
    if not is_htmx():
        return "jobs/index.html"
    return "jobs/_page.html" if request.headers.get("HX-Target") == "jobs" else "jobs/_table.html"


def _listing(args: MultiDict[str, str]) -> dict[str, object]:
    found = parse_filter(args.to_dict(flat=False), extra=LIST_PARAMETERS)
    # Scheduled jobs are read soonest first, unless another order is asked for.
    later = found.waiting == "scheduled" or found.state == ShownState.SCHEDULED
    sort = parse_sort(args.get("sort") or ("next" if later else None))
    # Each order has its own page cursor: an id, or a sort key and an id.
    given, other = ("before", "cursor") if sort.key is None else ("cursor", "before")
    if args.get(other):
        raise BadFilter(other, args[other], f"is no page cursor of sort={sort.name} "
                                            f"(it pages with '{given}')")
    before = parse_id("before", args.get("before")) if sort.key is None else None
    cursor = parse_cursor(sort, args.get("cursor")) if sort.key is not None else None
    first = before is None and cursor is None and sort.key is None
    # The first page of the newest-first list stays put: jobs newer than those the reader
    # was shown are counted ("3 new jobs, show them"), not pushed in above them.
    seen = whole_number("seen", args["seen"], 0, MAX_ID) if first and args.get("seen") else None
    session = db.session()
    check_filter(session, found)
    follow = None
    if found.audit_entry is not None:
        follow = followed(session, found.audit_entry)
        if follow is None:
            raise BadFilter("audit", found.audit_entry, "no audit entry has this id")
    with time_limit(session, found, current_app.config["DASHBOARD_SEARCH_TIMEOUT_MS"]):
        # Due and blocked: the page and its count in one statement (what they ask of the
        # whole set, computed once); elsewhere the count is a statement of its own.
        shared = found.waiting in waiting.OF_THE_SET
        page = list_jobs(session, found, sort=sort, before=before, cursor=cursor, seen=seen,
                         count_cap=COUNT_CAP if shared else None)
        where = conditions(found)
        newer = None
        if first:
            if seen is None:
                seen = _newest_id()
            else:
                newer = capped_count(session, [*where, jobs.c.id > seen], COUNT_CAP)
        matching = (page.matching if page.matching is not None
                    else capped_count(session, [*where, *sort.scope], COUNT_CAP))
    held = blockers(session, [(row.id, row.blocked_by) for row in page.rows])
    return dict(page=page, found=found, params=found.to_params(), sort=sort, before=before,
                blockers=held, blocker_states={b.id: b.state for b in held}, blocker_why=WHY,
                cursor=cursor, seen=seen if first else None, newer=newer, followed=follow,
                matching=matching, count_cap=COUNT_CAP)


def _newest_id() -> int:
    """The newest job's id: jobs after it are new to the reader of this page."""
    return db.session.scalar(sa.select(sa.func.max(jobs.c.id))) or 0


@bp.get("/<int:job_id>")
def detail(job_id: int):
    """One job: its fields, requests, payloads, attempt history and operator actions."""
    return render_job(job_id)


def render_job(job_id: int, *, confirm: str | None = None, status: int = 200):
    """The job's page, or only its fragment for htmx (after an action, or while polling)."""
    found = job_detail(db.session(), job_id)
    if found is None:
        abort(404, f"Job #{job_id} does not exist (it may have been cleaned up).")
    number = whole_number("requests", request.args.get("requests") or 1, 1, MAX_ID)
    held = blockers(db.session(), [(job_id, found.blocked_by)])
    template = "jobs/_job.html" if is_htmx() else "jobs/detail.html"
    return render_template(template, detail=found, job=found.job, confirm=confirm,
                           part=request_part(found.job.requests, number),
                           live=found.job.state in LIVE_STATES,
                           blocker=held[0] if held else None, blocker_why=WHY,
                           applies=[action for action in applicable(found.job.state)
                                    if current_user.can(Role.ADMIN) or not action.admin_only]
                           ), status
