"""The API's OpenAPI 3.1 description, served at /api/v1/openapi.json.

Kept true to the code by tests: every route is described, and schemathesis checks that
every answer to generated input matches it.
"""

from __future__ import annotations

import copy
from typing import Any

from ..queries.filters import (
    FILTER_STATES,
    MAX_ERROR_LENGTH,
    MAX_ID,
    MAX_SCHEDULE_NAME_LENGTH,
    MAX_SEARCH_LENGTH,
    WAITING,
)
from ..queries.jobs import PAGE_SIZE
from ..queue.jobs.builder import (
    MAX_RELATION_ID_LENGTH,
    MAX_SOURCE_ID_LENGTH,
    MAX_STORE_ID,
    MIN_STORE_ID,
)
from ..queue.jobs.types import MAX_TYPE_CODE_LENGTH
from ..queue.operations.actions import ACTIONS, Action
from .bodies import MAX_BATCH, NOT_BLANK
from .schemas import SCHEMAS, ref


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(ref("Error"), description)


JOB_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
JOB_ID_PARAMETER = {"name": "job_id", "in": "path", "required": True, "schema": JOB_ID,
                    "example": 1}
UNAUTHORIZED = {
    **_error("No token, a malformed Authorization header, or an unknown or revoked token."),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                     "description": 'Bearer realm="api"'}},
}
FORBIDDEN = _error("The token's role does not allow this.")
TOO_MANY = {
    **_error("Too many calls with this token (API_RATE_LIMIT, default 600 a minute), or "
             "too many failed token checks from this address (20 a minute); nothing was "
             "done. Call again after Retry-After seconds."),
    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 0},
                                "description": "Seconds until the token may call again."}},
}
NOT_FOUND = _error("No such job.")
UNAVAILABLE = _error("The database, or the rate limit's count, did not answer; try again "
                     "later.")

PREFER = {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
          "example": "return=representation",
          "description": "``return=representation``: answer with the whole job (``Job``) "
                         "rather than its id and URL (``JobCreated``). Other preferences "
                         "are ignored (RFC 7240)."}

FILTERS = [
    ("state", {"type": "string", "enum": [s.value for s in FILTER_STATES]},
     "Jobs in this state; scheduled: the pending jobs whose run-at time is ahead (pending "
     "includes them)."),
    ("type", {"type": "string", "maxLength": MAX_TYPE_CODE_LENGTH},
     "Jobs with a request of this type code (a code no type defines and no request has is "
     "refused)."),
    ("relation", {"type": "string", "maxLength": MAX_RELATION_ID_LENGTH}, "relation_id."),
    ("store", {"type": "integer", "minimum": MIN_STORE_ID, "maximum": MAX_STORE_ID},
     "store_id."),
    ("source", {"type": "string", "maxLength": MAX_SOURCE_ID_LENGTH}, "source_id."),
    ("from", {"type": "string"},
     "Created at or after: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] (UTC unless an offset is "
     "given)."),
    ("to", {"type": "string"}, "Created before (a date includes its whole day)."),
    ("q", {"type": "string", "maxLength": MAX_SEARCH_LENGTH},
     "Text searched in payloads and failure reasons: at least three letters or digits in a "
     "row (400 otherwise), stopped after DASHBOARD_SEARCH_TIMEOUT_MS (400: narrow it)."),
    ("schedule", {"type": "string", "maxLength": MAX_SCHEDULE_NAME_LENGTH},
     "Jobs of this recurring schedule entry (QUEUE_SCHEDULE)."),
    ("waiting", {"type": "string", "enum": list(WAITING)},
     "Pending or retrying jobs: due (a digest may take them now), blocked (behind an "
     "earlier unfinished job of their relation) or scheduled (their time is ahead)."),
    ("error", {"type": "string", "maxLength": MAX_ERROR_LENGTH},
     "Jobs whose failing request's reason reads so, with # for any number or id (as the "
     "dashboard's Top errors panel groups them)."),
    ("audit", JOB_ID, "The jobs an operator's action changed: the id of its audit entry "
                      "(bulk actions link to it)."),
    ("before", JOB_ID, "The cursor: jobs with a smaller id (``next_before`` of the previous "
                       "page)."),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": PAGE_SIZE},
     "Jobs per page."),
]

def _links(job_id: str) -> dict[str, Any]:
    """What a client may do next with the job an answer names (``job_id``: where its id is)."""
    return {f"{operation}": {"operationId": operation, "parameters": {"job_id": job_id}}
            for operation in ("getJob", *(f"{name}Job" for name in ACTIONS))}


def _action(action: Action) -> dict[str, Any]:
    return {"post": {
        "operationId": f"{action.code}Job",
        "summary": f"{action.code.capitalize()} a job",
        "description": action.help + " Recorded in the audit log as token:NAME. Needs an "
                                     "operator token.",
        "parameters": [JOB_ID_PARAMETER],
        "responses": {
            "200": {**_json(ref("ActionResult"), "Done; the job as it is now."),
                    "links": _links("$response.body#/job/id")},
            "401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND,
            "409": _error("The action does not apply to the job as it is (the message says "
                          "why); nothing changed."),
            "429": TOO_MANY, "503": UNAVAILABLE,
        },
    }}


def _type_change(verb: str) -> dict[str, Any]:
    paused = verb == "pause"
    return {"post": {
        "operationId": f"{verb}Type",
        "summary": f"{verb.capitalize()} a request type",
        "description": ("No digest starts a job with a request of the type still to run, "
                        "new jobs included, until it is resumed; the relation's order holds."
                        if paused else "Digests start the type's jobs again.")
        + " Recorded in the audit log as token:NAME. Needs an operator token not scoped "
          "to sources (a pause holds every source's jobs).",
        "parameters": [{"name": "type_code", "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1,
                                   "maxLength": MAX_TYPE_CODE_LENGTH}}],
        "responses": {
            "200": _json(ref("TypeChange"), "Done, or nothing to do (``changed`` says)."),
            "401": UNAUTHORIZED,
            "403": _error("The token's role does not allow this, or it is scoped to "
                          "sources."),
            "404": _error("No request type of this installation has this code."),
            "429": TOO_MANY, "503": UNAVAILABLE,
        },
    }}


PATHS: dict[str, Any] = {
    "/api/v1/jobs": {
        "post": {
            "operationId": "enqueueJob",
            "summary": "Enqueue a job",
            "description": "Saved whole or not at all. Answered with the job's id and URL; "
                           "with ``Prefer: return=representation``, with the whole job as "
                           "``GET`` its URL gives it. Needs an enqueue or operator token.",
            "parameters": [PREFER],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": ref("NewJob")}}},
            "responses": {
                "200": {**_json({"anyOf": [ref("Job"), ref("JobHeld")]},
                                "Not enqueued: an active job (any state but completed or "
                                "cancelled) of the same source has the unique key; the "
                                "answer is that job: whole for an operator token, its id "
                                "and state for an enqueue token."),
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "That job's URL."}},
                        "links": _links("$response.body#/id")},
                "201": {**_json({"anyOf": [ref("JobCreated"), ref("Job")]}, "Enqueued."),
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "The job's URL."}},
                        "links": _links("$response.body#/id")},
                "400": _error("The body is not JSON (or not UTF-8)."),
                "401": UNAUTHORIZED, "403": FORBIDDEN,
                "413": _error("The body is larger than API_MAX_BODY (default 1 MiB), or "
                              "holds more JSON values than API_MAX_ELEMENTS (100,000)."),
                "415": _error("The body is not declared as application/json."),
                "422": _error("A field is missing or wrong; ``problems`` lists each one."),
                "429": TOO_MANY, "503": UNAVAILABLE,
            },
        },
        "get": {
            "operationId": "listJobs",
            "summary": "List jobs, newest first",
            "description": "The dashboard's filters and cursor. Needs a viewer, operator or "
                           "admin token.",
            "parameters": [{"name": name, "in": "query", "required": False, "schema": schema,
                            "description": text} for name, schema, text in FILTERS],
            "responses": {
                "200": _json(ref("JobList"), "A page of jobs."),
                "400": _error("A filter value is wrong or unknown; ``field`` names it."),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "429": TOO_MANY, "503": UNAVAILABLE,
            },
        },
    },
    "/api/v1/jobs/batch": {
        "post": {
            "operationId": "enqueueJobs",
            "summary": "Enqueue many jobs at once",
            "description": f"Up to {MAX_BATCH:,} jobs, each as ``POST /api/v1/jobs`` takes "
                           "it, saved all together or none at all. Counts as one call "
                           "against the rate limit. Needs an enqueue or operator token.",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": ref("NewBatch")}}},
            "responses": {
                "201": _json(ref("BatchResult"), "Enqueued, every one."),
                "400": _error("The body is not JSON (or not UTF-8)."),
                "401": UNAUTHORIZED,
                "403": _error("The token's role does not allow this, or a job's source_id "
                              "is outside the token's sources (``field`` names it, e.g. "
                              "jobs[3].source_id)."),
                "413": _error("The body is larger than API_MAX_BODY (default 1 MiB), or "
                              "holds more JSON values than API_MAX_ELEMENTS (100,000)."),
                "415": _error("The body is not declared as application/json."),
                "422": _error("A field of a job is missing or wrong (``field``: "
                              "jobs[3].requests[0].type_code); nothing was saved."),
                "429": TOO_MANY, "503": UNAVAILABLE,
            },
        },
    },
    "/api/v1/jobs/{job_id}": {
        "get": {
            "operationId": "getJob",
            "summary": "A job with its requests and attempts",
            "description": "Needs a viewer or operator token.",
            "parameters": [JOB_ID_PARAMETER],
            "responses": {
                "200": _json(ref("Job"), "The job."),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND, "429": TOO_MANY,
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "operationId": "deleteJob",
            "summary": "Delete a finished job",
            "description": ACTIONS["delete"].help + " Only a completed, failed or cancelled "
                           "job. Recorded in the audit log as token:NAME. Needs an admin "
                           "token.",
            "parameters": [JOB_ID_PARAMETER],
            "responses": {
                "200": _json({"type": "object", "required": ["message", "id"],
                              "properties": {"message": {"type": "string"}, "id": JOB_ID}},
                             "Deleted, with its requests and attempts."),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND,
                "409": _error("The job is not finished (pending, running, retrying or "
                              "paused); nothing changed."),
                "429": TOO_MANY, "503": UNAVAILABLE,
            },
        },
    },
    **{f"/api/v1/jobs/{{job_id}}/{code}": _action(action) for code, action in ACTIONS.items()
       if not action.admin_only},
    "/api/v1/types/{type_code}/pause": _type_change("pause"),
    "/api/v1/types/{type_code}/resume": _type_change("resume"),
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This description",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}}},
        },
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "AsyncQueue Dashboard API",
        "version": "1",
        "description": "Enqueue jobs of ordered requests, read their outcome, and act on "
                       "them as the dashboard's operators do. Every error is JSON "
                       "(``Error``). Tokens: ``flask --app dashboard tokens create NAME "
                       "--role enqueue|viewer|operator|admin``.",
    },
    # The server that serves this description: the same description for every
    # deployment, whatever its address.
    "servers": [{"url": "/", "description": "The dashboard serving this description."}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "An API token (aqd_...)."}},
    },
    "security": [{"bearer": []}],
}


def _any_type_code(spec: dict[str, Any]) -> None:
    """A request's type code is any code a request type may have (a pattern, not the list
    of one installation's types): a client generated from one server serves them all."""
    type_code = spec["components"]["schemas"]["NewRequest"]["properties"]["type_code"]
    type_code["pattern"] = NOT_BLANK
    type_code["description"] = ("The code of a request type the server has; another is "
                                "refused (422).")


_any_type_code(SPEC)


def description(type_codes: list[str]) -> dict[str, Any]:
    """The description as this installation serves it: the same schemas everywhere, with
    the request types it has loaded named in the type code's description."""
    found = copy.deepcopy(SPEC)
    if type_codes:
        type_code = found["components"]["schemas"]["NewRequest"]["properties"]["type_code"]
        type_code["description"] += " This server's request types: " + ", ".join(
            sorted(type_codes)) + "."
        type_code["examples"] = sorted(type_codes)
    return found
