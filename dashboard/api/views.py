"""The HTTP API's endpoints: enqueue, list, show, and act on jobs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from ..actions import one_job
from ..actions import pauses as pause_actions
from ..app.extensions import db
from ..app.http_errors import problem
from ..queries.detail import job_detail
from ..queries.filters import BadFilter, parse_filter, parse_id, whole_number
from ..queries.jobs import PAGE_SIZE, check_filter, list_jobs
from ..queries.search import time_limit
from ..queue import Job, JobRepository, registry
from ..queue.jobs.masking import Masker
from ..queue.jobs.settings import clock
from ..queue.operations.actions import ACTIONS
from ..queue.store import pauses
from . import documents, errors, guard
from .enqueue import job_from_body, jobs_from_batch, read_json
from .openapi import description
from .ratelimit import per_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(guard.authenticate)
errors.init_blueprint(bp)

MAX_LIMIT = 200
# Routes say provide_automatic_options=False: no client of a token API sends a CORS
# preflight, and the Allow header of a 405 then names exactly the methods described.


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # job data: for no shared cache
    return response


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for an answer: on DASHBOARD_URL when it is set, so a client's Host
    header (which anyone can write) never chooses where other clients are sent."""
    base = current_app.config.get("DASHBOARD_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)  # starts with the app's root (SCRIPT_NAME)
    return base + path[len(request.script_root):]


def job_url(job_id: int) -> str:
    return external_url("api.show", job_id=job_id)


def _document(job_id: int) -> dict[str, Any]:
    found = job_detail(db.session(), job_id)  # the path's id is in range (input_checks.IdConverter)
    if found is None or not guard.current_token().allows_source(found.job.source_id):
        # A job of a source outside the token's scope is not there, for this token.
        abort(404, f"job {job_id} does not exist")
    masker = Masker(current_app.config["QUEUE_MASKED_KEYS"])
    # Tracebacks name the server's files: for operators, not for readers.
    document = documents.job_document(found, masker, job_url,
                                      tracebacks=guard.current_token().may("act"))
    db.session.rollback()  # a read: end the transaction now
    return document


def wants_representation() -> bool:
    """``Prefer: return=representation`` (RFC 7240): the client asks for the whole job."""
    return any(preference.split(";")[0].replace(" ", "").lower() == "return=representation"
               for preference in request.headers.get("Prefer", "").split(","))


def _check_visible(job_id: int) -> None:
    """404 unless the job exists and its source is within the token's scope."""
    # The path's id is in range (input_checks.IdConverter).
    source = db.session.scalar(sa.select(Job.source_id).where(Job.id == job_id))
    db.session.rollback()  # a read: the action then writes in a transaction of its own
    if source is None or not guard.current_token().allows_source(source):
        abort(404, f"job {job_id} does not exist")


def _single(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadFilter(name, values, "given more than once; give it once")
    return values[0] if values else None


def _refuse_empty_parameters() -> None:
    """A filter is given or left out: an empty value is refused, as the description says.
    (The pages take one as no filter: their forms send every field, filled or not.)"""
    for name, value in request.args.items(multi=True):
        if not value.strip():
            raise BadFilter(name, value, "is empty; leave the parameter out or give it a value")


def _limit() -> int:
    raw = _single("limit")
    if raw is None or not raw.strip():
        return PAGE_SIZE
    return whole_number("limit", raw, 1, MAX_LIMIT)


@bp.get("/openapi.json", provide_automatic_options=False)
def openapi() -> Response:
    """The API's OpenAPI 3 description (no token needed)."""
    return jsonify(description(registry.codes()))


@bp.post("/jobs", provide_automatic_options=False)
@per_token
@guard.needs("enqueue")
def enqueue() -> Response | tuple[Response, int, dict[str, str]]:
    """Enqueue a job of one or more requests; 201 with its id and URL (the whole job
    for ``Prefer: return=representation``); 200 with the active job of the same source
    and unique key (whole for a token that may read jobs, else its id and state)."""
    job = job_from_body(read_json())
    refused = guard.out_of_scope(job.source_id, "source_id")
    if refused is not None:
        return refused
    JobRepository(db.session()).save(job)
    url = job_url(job.id)
    if job.duplicate:  # an active job of the source holds the unique key: it is the answer
        if not guard.current_token().may("read"):  # an enqueue token: what it may know
            return jsonify(id=job.id, state=job.state.value), 200, {"Location": url}
        return jsonify(_document(job.id)), 200, {"Location": url}
    if wants_representation():
        return (jsonify(_document(job.id)), 201,
                {"Location": url, "Preference-Applied": "return=representation"})
    # The whole document costs more than the save (a load of the job, its requests and
    # their masking): it is there for the asking, or at the URL.
    return (jsonify(id=job.id, url=url, state=job.state.value, relation_id=job.relation_id,
                    store_id=job.store_id, source_id=job.source_id),
            201, {"Location": url})


@bp.post("/jobs/batch", provide_automatic_options=False)
@per_token
@guard.needs("enqueue")
def enqueue_batch() -> Response | tuple[Response, int]:
    """Enqueue up to MAX_BATCH jobs, all or none; 201 with their ids in order (for a
    duplicate of an active job's unique key, that job's id)."""
    jobs = jobs_from_batch(read_json())
    for number, job in enumerate(jobs):
        refused = guard.out_of_scope(job.source_id, f"jobs[{number}].source_id")
        if refused is not None:
            return refused
    JobRepository(db.session()).save_many(jobs)
    return jsonify(ids=[job.id for job in jobs],
                   duplicates=[n for n, job in enumerate(jobs) if job.duplicate]), 201


@bp.get("/jobs", provide_automatic_options=False)
@per_token
@guard.needs("read")
def index() -> Response:
    """Jobs matching the filters, newest first, a page at a time (``before``: the cursor)."""
    _refuse_empty_parameters()
    found = parse_filter(request.args.to_dict(flat=False), extra=("before", "limit"))
    refused = guard.out_of_scope(found.source_id, "source") if found.source_id else None
    if refused is not None:
        return refused
    found = guard.scoped(found)
    before = parse_id("before", _single("before"))
    limit = _limit()
    check_filter(db.session(), found)
    with time_limit(db.session(), found, current_app.config["DASHBOARD_SEARCH_TIMEOUT_MS"]):
        page = list_jobs(db.session(), found, before=before, limit=limit)
    db.session.rollback()
    body = documents.job_page(page, job_url)
    body["next"] = (external_url("api.index", **found.to_params(), before=page.next_before,
                                 **({"limit": limit} if limit != PAGE_SIZE else {}))
                    if page.next_before else None)
    return jsonify(body)


@bp.get("/jobs/<int:job_id>", provide_automatic_options=False)
@per_token
@guard.needs("read")
def show(job_id: int) -> Response:
    """One job: its fields, requests (payloads and results masked) and attempts."""
    return jsonify(_document(job_id))


#: The actions posted to /jobs/{id}/{action}; ``delete`` is DELETE /jobs/{id}.
POSTED = tuple(code for code in one_job.OPERATIONS if not ACTIONS[code].admin_only)


@bp.delete("/jobs/<int:job_id>", provide_automatic_options=False)
@per_token
@guard.needs("delete")
def delete(job_id: int) -> Response:
    """Delete a completed, failed or cancelled job for good, as an administrator does."""
    _check_visible(job_id)
    try:
        done = one_job.perform(db.session(), "delete", job_id,
                               actor=guard.current_token().actor, now=clock())
        db.session.commit()
    except one_job.NoSuchJob as missing:
        abort(404, str(missing))
    except one_job.Refused as refusal:
        return problem(409, refusal.reason)
    return jsonify(message=done.message, id=job_id)


@bp.post(f"/jobs/<int:job_id>/<any({', '.join(POSTED)}):action>",
         provide_automatic_options=False)
@per_token
@guard.needs("act")
def act(job_id: int, action: str) -> Response:
    """Retry, pause, resume, cancel or run the job, as the dashboard's buttons do."""
    _check_visible(job_id)
    try:
        done = one_job.perform(db.session(), action, job_id, actor=guard.current_token().actor,
                                  now=clock(),
                                  run_seconds=current_app.config["DASHBOARD_RUN_SECONDS"])
        db.session.commit()
    except one_job.NoSuchJob as missing:
        abort(404, str(missing))
    except one_job.Refused as refusal:
        return problem(409, refusal.reason)
    return jsonify(message=done.message, job=_document(job_id))


@bp.post("/types/<type_code>/<any(pause, resume):verb>", provide_automatic_options=False)
@per_token
@guard.needs("act")
def pause_type(type_code: str, verb: str) -> Response:
    """Pause a request type (no digest starts a job with a request of it), or resume it."""
    if guard.current_token().sources is not None:
        return problem(403, "a token scoped to sources can't pause or resume a type: a "
                            "type's pause holds the jobs of every source")
    change = pause_actions.pause if verb == "pause" else pause_actions.resume
    try:
        done = change(db.session(), "type", type_code, actor=guard.current_token().actor,
                      now=clock())
    except pause_actions.PauseRefused as refusal:
        db.session.rollback()
        abort(404, str(refusal))
    db.session.commit()
    return jsonify(message=done.message, type_code=type_code, changed=done.changed,
                   paused=type_code in pauses.type_codes(db.session()))
