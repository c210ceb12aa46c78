"""Jobs from an API client's JSON: every field checked, every problem named, before
anything is stored (the job is then saved whole, in one transaction, or not at all)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, get_args

from flask import current_app, request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from werkzeug.exceptions import RequestEntityTooLarge

from ..queue import Job, JobBuilder
from ..queue.jobs.payload import shape
from .bodies import MAX_DEPTH, SHALLOW, NewBatch, NewJob
from .errors import Invalid

#: Digits of a JSON integer, at most: Python's int() refuses longer ones by default.
MAX_DIGITS = 4300
#: Problems listed in one answer, at most.
MAX_PROBLEMS = 20
#: A payload sits this many levels deep in a batch's body (``{"jobs": [{"requests":
#: [{"payload": ...``): a deeper body can't be valid.
MAX_BODY_DEPTH = MAX_DEPTH + 5


class Body(NamedTuple):
    """A request's JSON body, and how deep it nests."""

    data: Any
    depth: int


def read_json() -> Body:
    """The request's JSON body; 415 when it is not declared as JSON, 400 when it is not.
    A body too deep to be valid (400) or of more than API_MAX_ELEMENTS values (413) is
    refused before it is parsed, for a fraction of what parsing it would cost."""
    if not request.is_json:
        raise Invalid([("body", "send the job as JSON, with Content-Type: application/json")],
                      status=415)
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit rather than refused: refuse it here.
        raise RequestEntityTooLarge()
    most = current_app.config["API_MAX_ELEMENTS"]
    values, depth = shape(raw, MAX_BODY_DEPTH, most)
    if depth > MAX_BODY_DEPTH:
        raise Invalid([("body", f"is nested too deeply: more than {MAX_BODY_DEPTH} levels "
                                "of arrays and objects")], status=400)
    if values > most:
        raise Invalid([("body", f"holds {values:,} JSON values; a body may hold at most "
                                f"{most:,} (API_MAX_ELEMENTS)")], status=413)
    try:
        return Body(_loads(raw.decode("utf-8")), depth)
    except UnicodeDecodeError:
        raise Invalid([("body", "is not UTF-8 text")], status=400) from None
    except json.JSONDecodeError as error:
        raise Invalid([("body", f"is not valid JSON: {error}")], status=400) from None
    except RecursionError:
        raise Invalid([("body", "is nested too deeply")], status=400) from None


class _TooLong:
    """Stands for a number of more than MAX_DIGITS digits while its place is looked for."""


def _loads(text: str) -> Any:
    """JSON; Invalid names the field of a number too long for Python's ``int()`` (it
    would raise a ValueError naming no field, and no request type needs such a number)."""
    too_long: list[_TooLong] = []

    def integer(digits: str) -> int | _TooLong:
        if len(digits.lstrip("-")) <= MAX_DIGITS:
            return int(digits)
        too_long.append(_TooLong())
        return too_long[-1]

    data = json.loads(text, parse_int=integer)
    if too_long:  # rare: only then is the body walked
        field = _path_of(data, too_long[0])
        raise Invalid([(field or "body", f"is a number of more than {MAX_DIGITS:,} digits")])
    return data


def _path_of(value: Any, wanted: object) -> str | None:
    """The field (``requests[0].payload.n``) where ``wanted`` is, or None; no recursion."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if item is wanted:
            return path or "body"
        if isinstance(item, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{n}]") for n, v in enumerate(item))
    return None


def _field(loc: tuple[int | str, ...]) -> str:
    """``("jobs", 3, "requests", 0, "type_code")`` -> ``jobs[3].requests[0].type_code``."""
    field = ""
    for step in loc:
        field += f"[{step}]" if isinstance(step, int) else f".{step}" if field else step
    return field or "body"


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model of the object at ``loc`` inside a ``model``."""
    for step in loc:
        if isinstance(step, str):
            annotation = model.model_fields[step].annotation
            model = next(a for a in (*get_args(annotation), annotation)
                         if isinstance(a, type) and issubclass(a, BaseModel))
    return model


#: What a missing field is told, beyond "is required".
REQUIRED = {
    "requests": ': a list of {"type_code": ..., "payload": ...}, at least one',
    "payload": " (any JSON value, e.g. {})",
    "jobs": ': a list of jobs, each as POST /api/v1/jobs takes it',
}


def _message(model: type[BaseModel], error: ErrorDetails) -> str:
    loc, kind = error["loc"], error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "missing":
        return "is required" + REQUIRED.get(str(loc[-1]), "")
    if kind == "extra_forbidden":
        return f"unknown field (known: {', '.join(_model_at(model, loc[:-1]).model_fields)})"
    if kind == "model_type":
        fields = " and ".join(f for f, info in _model_at(model, loc).model_fields.items()
                              if info.is_required())
        return (f"must be a JSON object with {fields}" if not loc
                else f"must be an object with {fields}")
    return error["msg"]


def problems(model: type[BaseModel], error: ValidationError) -> list[tuple[str, str]]:
    """Each of pydantic's findings as (field, the core's words), at most MAX_PROBLEMS."""
    return [(_field(found["loc"]), _message(model, found))
            for found in error.errors(include_url=False)[:MAX_PROBLEMS]]


def _job(new: NewJob) -> Job:
    job = (JobBuilder().set_relation_id(new.relation_id).set_store_id(new.store_id)
           .set_source_id(new.source_id).set_priority(new.priority).set_run_at(new.run_at)
           .set_delay(new.delay_seconds).set_unique_key(new.unique_key).create())
    for item in new.requests:
        # An identical request (same type and payload) is dropped, as the core does.
        job.request_builder().set_type_code(item.type_code).set_payload(
            item.payload).create()
    return job


def _context(body: Body) -> dict[str, bool]:
    # A body no deeper than a payload may be holds no payload too deep: none is walked.
    return {SHALLOW: body.depth <= MAX_DEPTH}


def job_from_body(body: Body) -> Job:
    """A job built from the body, not yet saved; Invalid lists every problem found."""
    try:
        return _job(NewJob.model_validate(body.data, context=_context(body)))
    except ValidationError as error:
        raise Invalid(problems(NewJob, error)) from None


def jobs_from_batch(body: Body) -> list[Job]:
    """The jobs of a batch's body, not yet saved; Invalid lists every problem of any."""
    try:
        return [_job(new) for new in
                NewBatch.model_validate(body.data, context=_context(body)).jobs]
    except ValidationError as error:
        raise Invalid(problems(NewBatch, error)) from None
