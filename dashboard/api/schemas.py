"""The JSON shapes of the API's documents, as the OpenAPI description's components.

``documents.py`` writes these shapes; the bodies the API reads (``NewJob``, ``NewBatch``)
come from the pydantic models that check them (``bodies.py``). Schemathesis checks every
answer against them.
"""

from __future__ import annotations

from typing import Any

from ..app.http_errors import ERRORS
from ..queue.jobs.states import JobState, RequestState
from .bodies import NewBatch, json_schemas

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
                     "last_error", "created_at", "updated_at", "running", "history"],
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
            "running": {
                "type": ["object", "null"],
                "description": "While the request runs (null otherwise): when its call "
                               "started, seconds since, and the seconds it may run before "
                               "the digest ends it (its type's timeout, else "
                               "QUEUE_REQUEST_TIMEOUT).",
                "required": ["started_at", "elapsed", "timeout"],
                "properties": {"started_at": TIME, "elapsed": {"type": "number"},
                               "timeout": {"type": "number"}},
            },
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
    "ActionResult": {
        "type": "object",
        "required": ["message", "job"],
        "properties": {"message": {"type": "string"}, "job": ref("Job")},
    },
    "TypeChange": {
        "type": "object",
        "required": ["message", "type_code", "changed", "paused"],
        "properties": {
            "message": {"type": "string"},
            "type_code": {"type": "string"},
            "changed": {"type": "boolean",
                        "description": "False: it was paused (or resumed) already."},
            "paused": {"type": "boolean", "description": "Whether the type is paused now."},
        },
    },
    "JobCreated": {
        "type": "object",
        "required": ["id", "url", "state", "relation_id", "store_id", "source_id"],
        "properties": {
            **{name: JOB_FIELDS[name] for name in ("id", "relation_id", "store_id",
                                                   "source_id", "state")},
            "url": {"type": "string", "format": "uri",
                    "description": "The job's URL: GET it for the whole job."},
        },
    },
    "JobHeld": {
        "type": "object",
        "required": ["id", "state"],
        "description": "The job that holds the unique key, as an enqueue token may know it.",
        "properties": {name: JOB_FIELDS[name] for name in ("id", "state")},
    },
    "BatchResult": {
        "type": "object",
        "required": ["ids", "duplicates"],
        "properties": {
            "ids": {"type": "array", "items": {"type": "integer"},
                    "description": "The jobs' ids, in the order they were sent; for a job "
                                   "whose unique key an active job holds, that job's id."},
            "duplicates": {"type": "array", "items": {"type": "integer", "minimum": 0},
                           "description": "The positions in ``jobs`` of those duplicates."},
        },
    },
    # What the API reads: from the models that check it (bodies.py).
    **json_schemas(NewBatch),
}
