"""The JSON shapes of the API's documents, as the OpenAPI description's components.

``documents.py`` writes these shapes and ``enqueue.py`` reads ``NewJob``; schemathesis
checks every answer against them.
"""

from __future__ import annotations

from typing import Any

from ..app.http_errors import ERRORS
from ..queue.builder import (
    MAX_RELATION_ID_LENGTH,
    MAX_SOURCE_ID_LENGTH,
    MAX_STORE_ID,
    MIN_STORE_ID,
)
from ..queue.states import JobState, RequestState
from ..queue.types import MAX_TYPE_CODE_LENGTH
from .enqueue import MAX_DEPTH, MAX_REQUESTS

TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}


#: The fields a job has both in the list and on its own.
JOB_FIELDS: dict[str, Any] = {
    "id": {"type": "integer"},
    "relation_id": {"type": ["string", "null"]},
    "store_id": {"type": ["integer", "null"]},
    "source_id": {"type": "string"},
    "state": {"type": "string", "enum": [s.value for s in JobState]},
    "created_at": TIME,
    "next_attempt_at": MAYBE_TIME,
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
            "history": {"type": "array", "items": ref("Attempt"),
                        "description": "Every attempt, across operator retries."},
        },
    },
    "Job": {
        "type": "object",
        "required": ["id", "relation_id", "store_id", "source_id", "state", "created_at",
                     "updated_at", "next_attempt_at", "finished_at", "blocked_by", "url",
                     "requests"],
        "properties": {
            **JOB_FIELDS,
            "updated_at": TIME, "finished_at": MAYBE_TIME,
            "blocked_by": {"type": ["integer", "null"],
                           "description": "The earlier unfinished job of the same relation "
                                          "that holds this one back."},
            "url": {"type": "string", "format": "uri"},
            "requests": {"type": "array", "items": ref("Request")},
        },
    },
    "JobSummary": {
        "type": "object",
        "required": ["id", "relation_id", "store_id", "source_id", "state", "created_at",
                     "next_attempt_at", "type_codes", "attempts", "last_error", "url"],
        "properties": {
            **JOB_FIELDS,
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
            "jobs": {"type": "array", "items": ref("JobSummary")},
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
                         "items": ref("NewRequest"),
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
            "payload": {"description": f"Any JSON value, nested at most {MAX_DEPTH} levels."},
        },
    },
    "ActionResult": {
        "type": "object",
        "required": ["message", "job"],
        "properties": {"message": {"type": "string"}, "job": ref("Job")},
    },
}
