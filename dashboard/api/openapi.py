"""The API's OpenAPI 3.1 description, served at /api/v1/openapi.json.

Kept true to the code by tests: every route is described, and schemathesis checks that
every answer to generated input matches it.
"""

from __future__ import annotations

import copy
from typing import Any

from ..queries.filters import MAX_ID, MAX_SEARCH_LENGTH
from ..queries.jobs import PAGE_SIZE
from ..queue.builder import MAX_RELATION_ID_LENGTH, MAX_SOURCE_ID_LENGTH, MAX_STORE_ID, MIN_STORE_ID
from ..queue.states import JobState, RequestState
from ..queue.types import MAX_TYPE_CODE_LENGTH
from .enqueue import MAX_REQUESTS
from .errors import ERRORS

ACTIONS = {
    "retry": "Make a retrying job due now; give a failed one a fresh round of attempts "
             "(its history is kept).",
    "pause": "Keep the digest away from the job; a running one stops after its current "
             "request.",
    "resume": "Let the digest take a paused job again, where it left off.",
    "cancel": "Stop the job for good; later jobs of its relation are no longer held back.",
    "run": "Run the job here and now through the digest (it must be pending or retrying, "
           "not held by another digest nor blocked by an earlier job of its relation).",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
JOB_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
JOB_ID_PARAMETER = {"name": "job_id", "in": "path", "required": True, "schema": JOB_ID,
                    "example": 1}
UNAUTHORIZED = {
    **_error("No token, a malformed Authorization header, or an unknown or revoked token."),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                     "description": 'Bearer realm="api"'}},
}
FORBIDDEN = _error("The token's role does not allow this.")
NOT_FOUND = _error("No such job.")
UNAVAILABLE = _error("The database did not answer; try again later.")

FILTERS = [
    ("state", {"type": "string", "enum": [s.value for s in JobState]}, "Jobs in this state."),
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
     "Text searched in payloads and failure reasons."),
    ("before", JOB_ID, "The cursor: jobs with a smaller id (``next_before`` of the previous "
                       "page)."),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": PAGE_SIZE},
     "Jobs per page."),
]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "enum": sorted(set(ERRORS.values()))},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "The field or parameter at fault, "
                                                       "e.g. requests[1].type_code."},
            "problems": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        },
    },
    "Attempt": {
        "type": "object",
        "required": ["number", "started_at", "finished_at", "duration", "outcome", "error",
                     "traceback"],
        "properties": {
            "number": {"type": "integer", "minimum": 1},
            "started_at": TIME, "finished_at": TIME,
            "duration": {"type": "number", "description": "Seconds."},
            "outcome": {"type": "string", "enum": ["succeeded", "failed"]},
            "error": {"type": ["string", "null"]},
            "traceback": {"type": ["string", "null"]},
        },
    },
    "Request": {
        "type": "object",
        "required": ["id", "position", "type_code", "state", "attempts", "payload", "result",
                     "last_error", "created_at", "updated_at", "history"],
        "properties": {
            "id": {"type": "integer"},
            "position": {"type": "integer", "minimum": 0},
            "type_code": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in RequestState]},
            "attempts": {"type": "integer", "minimum": 0,
                         "description": "Attempts in the current round."},
            "payload": {"description": "The payload, values of secret-looking keys masked."},
            "result": {"description": "What the request type returned (null until it "
                                      "succeeded), secrets masked."},
            "last_error": {"type": ["string", "null"]},
            "created_at": TIME, "updated_at": TIME,
            "history": {"type": "array", "items": _ref("Attempt"),
                        "description": "Every attempt, across operator retries."},
        },
    },
    "Job": {
        "type": "object",
        "required": ["id", "relation_id", "store_id", "source_id", "state", "created_at",
                     "updated_at", "next_attempt_at", "finished_at", "blocked_by", "url",
                     "requests"],
        "properties": {
            "id": {"type": "integer"},
            "relation_id": {"type": ["string", "null"]},
            "store_id": {"type": ["integer", "null"]},
            "source_id": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in JobState]},
            "created_at": TIME, "updated_at": TIME,
            "next_attempt_at": MAYBE_TIME, "finished_at": MAYBE_TIME,
            "blocked_by": {"type": ["integer", "null"],
                           "description": "The earlier unfinished job of the same relation "
                                          "that holds this one back."},
            "url": {"type": "string", "format": "uri"},
            "requests": {"type": "array", "items": _ref("Request")},
        },
    },
    "JobSummary": {
        "type": "object",
        "required": ["id", "relation_id", "store_id", "source_id", "state", "created_at",
                     "next_attempt_at", "type_codes", "attempts", "last_error", "url"],
        "properties": {
            "id": {"type": "integer"},
            "relation_id": {"type": ["string", "null"]},
            "store_id": {"type": ["integer", "null"]},
            "source_id": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in JobState]},
            "created_at": TIME, "next_attempt_at": MAYBE_TIME,
            "type_codes": {"type": "array", "items": {"type": "string"}},
            "attempts": {"type": "integer", "minimum": 0},
            "last_error": {"type": ["string", "null"],
                           "description": "The first line of the latest failure."},
            "url": {"type": "string", "format": "uri"},
        },
    },
    "JobList": {
        "type": "object",
        "required": ["jobs", "next_before", "next"],
        "properties": {
            "jobs": {"type": "array", "items": _ref("JobSummary")},
            "next_before": {"type": ["integer", "null"],
                            "description": "``before`` for the next page; null on the last."},
            "next": {"type": ["string", "null"], "format": "uri",
                     "description": "The next page's URL; null on the last."},
        },
    },
    "NewJob": {
        "type": "object",
        "required": ["requests"],
        "additionalProperties": False,
        "properties": {
            "relation_id": {
                "description": "The object the job acts on; jobs of one relation (and source) "
                               "run in order.",
                "oneOf": [
                    {"type": "string", "minLength": 1, "maxLength": MAX_RELATION_ID_LENGTH,
                     "pattern": "^[^\\u0000-\\u001f\\u007f]+$"},
                    {"type": "integer"}, {"type": "null"},
                ],
            },
            "store_id": {"type": ["integer", "null"], "minimum": MIN_STORE_ID,
                         "maximum": MAX_STORE_ID},
            "source_id": {"type": "string", "minLength": 1, "maxLength": MAX_SOURCE_ID_LENGTH,
                          "pattern": "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$",
                          "default": "default"},
            "requests": {"type": "array", "minItems": 1, "maxItems": MAX_REQUESTS,
                         "items": _ref("NewRequest"),
                         "description": "Run in this order; an identical request (same type "
                                        "and payload) is dropped."},
        },
    },
    "NewRequest": {
        "type": "object",
        "required": ["type_code", "payload"],
        "additionalProperties": False,
        "properties": {
            "type_code": {"type": "string", "minLength": 1, "maxLength": MAX_TYPE_CODE_LENGTH,
                          "description": "A code a request type of this installation has."},
            "payload": {"description": "Any JSON value, nested at most 64 levels."},
        },
    },
    "ActionResult": {
        "type": "object",
        "required": ["message", "job"],
        "properties": {"message": {"type": "string"}, "job": _ref("Job")},
    },
}


def _links(job_id: str) -> dict[str, Any]:
    """What a client may do next with the job an answer names (``job_id``: where its id is)."""
    return {f"{operation}": {"operationId": operation, "parameters": {"job_id": job_id}}
            for operation in ("getJob", *(f"{name}Job" for name in ACTIONS))}


def _action(name: str, description: str) -> dict[str, Any]:
    return {"post": {
        "operationId": f"{name}Job",
        "summary": f"{name.capitalize()} a job",
        "description": description + " Recorded in the audit log as token:NAME. Needs an "
                                     "operator token.",
        "parameters": [JOB_ID_PARAMETER],
        "responses": {
            "200": {**_json(_ref("ActionResult"), "Done; the job as it is now."),
                    "links": _links("$response.body#/job/id")},
            "401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND,
            "409": _error("The action does not apply to the job as it is (the message says "
                          "why); nothing changed."),
            "503": UNAVAILABLE,
        },
    }}


PATHS: dict[str, Any] = {
    "/api/v1/jobs": {
        "post": {
            "operationId": "enqueueJob",
            "summary": "Enqueue a job",
            "description": "Saved whole or not at all. Needs an enqueue or operator token.",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("NewJob")}}},
            "responses": {
                "201": {**_json(_ref("Job"), "Enqueued."),
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "The job's URL."}},
                        "links": _links("$response.body#/id")},
                "400": _error("The body is not JSON (or not UTF-8)."),
                "401": UNAUTHORIZED, "403": FORBIDDEN,
                "413": _error("The body is larger than API_MAX_BODY (default 1 MiB)."),
                "415": _error("The body is not declared as application/json."),
                "422": _error("A field is missing or wrong; ``problems`` lists each one."),
                "503": UNAVAILABLE,
            },
        },
        "get": {
            "operationId": "listJobs",
            "summary": "List jobs, newest first",
            "description": "The dashboard's filters and cursor. Needs a viewer or operator "
                           "token.",
            "parameters": [{"name": name, "in": "query", "required": False, "schema": schema,
                            "description": text} for name, schema, text in FILTERS],
            "responses": {
                "200": _json(_ref("JobList"), "A page of jobs."),
                "400": _error("A filter value is wrong or unknown; ``field`` names it."),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "503": UNAVAILABLE,
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
                "200": _json(_ref("Job"), "The job."),
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND, "503": UNAVAILABLE,
            },
        },
    },
    **{f"/api/v1/jobs/{{job_id}}/{name}": _action(name, text) for name, text in ACTIONS.items()},
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
                       "--role enqueue|viewer|operator``.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "An API token (aqd_...)."}},
    },
    "security": [{"bearer": []}],
}


def description(type_codes: list[str]) -> dict[str, Any]:
    """The description as this installation serves it: the request types it has loaded
    are the type codes a new job's requests may name."""
    found = copy.deepcopy(SPEC)
    if type_codes:
        type_code = found["components"]["schemas"]["NewRequest"]["properties"]["type_code"]
        type_code["enum"] = sorted(type_codes)
    return found
