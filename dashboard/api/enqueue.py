"""A job from an API client's JSON: every field checked, every problem named, before
anything is stored (the job is then saved whole, in one transaction, or not at all)."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from ..queue import Job, JobBuilder, registry
from ..queue.builder import validate_relation_id, validate_source_id, validate_store_id
from ..queue.payload import dump_json
from ..queue.types import validate_type_code
from .errors import Invalid

JOB_FIELDS = ("relation_id", "store_id", "source_id", "requests")
REQUEST_FIELDS = ("type_code", "payload")
MAX_REQUESTS = 1000
#: Deeper payloads are refused: nothing real nests this far, and every reader of the
#: payload (masking, the pages, request types) walks it recursively.
MAX_DEPTH = 64
#: Digits of a JSON integer, at most: Python's int() refuses longer ones by default.
MAX_DIGITS = 4300
#: Problems listed in one answer, at most.
MAX_PROBLEMS = 20


def read_json() -> Any:
    """The request's JSON body; 415 when it is not declared as JSON, 400 when it is not."""
    if not request.is_json:
        raise Invalid([("body", "send the job as JSON, with Content-Type: application/json")],
                      status=415)
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit rather than refused: refuse it here.
        raise RequestEntityTooLarge()
    try:
        return _loads(raw.decode("utf-8"))
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


def depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            level += 1
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            stack.extend((child, level) for child in
                         (item.values() if isinstance(item, dict) else item))
    return deepest


class _Problems(list):
    def check(self, field: str, validate: Any, *args: Any) -> Any:
        try:
            return validate(*args)
        except ValueError as error:
            self.append((field, str(error)))
            return None

    def unknown(self, where: str, data: dict, known: tuple[str, ...]) -> None:
        for key in data:
            if key not in known:
                self.append((f"{where}{key}", f"unknown field (known: {', '.join(known)})"))


def _whole(value: Any) -> Any:
    """3.0 is the integer 3 in JSON (and in JSON Schema), not a float to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def job_from_body(data: Any) -> Job:
    """A job built from the body, not yet saved; Invalid lists every problem found."""
    if not isinstance(data, dict):
        raise Invalid([("body", "must be a JSON object: {\"requests\": [{\"type_code\": ..., "
                                "\"payload\": ...}], ...}")])
    problems = _Problems()
    problems.unknown("", data, JOB_FIELDS)
    relation_id = problems.check("relation_id", validate_relation_id,
                                 _whole(data.get("relation_id")))
    store_id = problems.check("store_id", validate_store_id, _whole(data.get("store_id")))
    source_id = problems.check("source_id", validate_source_id, data.get("source_id", "default"))
    requests = _requests(data, problems)
    if problems:
        raise Invalid(problems[:MAX_PROBLEMS])
    job = (JobBuilder().set_relation_id(relation_id).set_store_id(store_id)
           .set_source_id(source_id).create())
    for type_code, payload in requests:
        # An identical request (same type and payload) is dropped, as the core does.
        job.request_builder().set_type_code(type_code).set_payload(payload).create()
    return job


def _requests(data: dict, problems: _Problems) -> list[tuple[str, Any]]:
    found = data.get("requests")
    if found is None:
        problems.append(("requests", "is required: a list of {\"type_code\": ..., "
                                     "\"payload\": ...}, at least one"))
        return []
    if not isinstance(found, list) or not found:
        problems.append(("requests", "must be a list of at least one request"))
        return []
    if len(found) > MAX_REQUESTS:
        problems.append(("requests", f"has {len(found)} requests; a job has at most "
                                     f"{MAX_REQUESTS}"))
        return []
    requests = []
    for number, item in enumerate(found):
        where = f"requests[{number}]"
        if not isinstance(item, dict):
            problems.append((where, "must be an object with type_code and payload"))
            continue
        problems.unknown(f"{where}.", item, REQUEST_FIELDS)
        type_code = problems.check(f"{where}.type_code", validate_type_code,
                                   item.get("type_code"))
        if type_code is not None and type_code not in registry:
            problems.append((f"{where}.type_code",
                             f"no request type has the code {type_code!r}"))
        if "payload" not in item:
            problems.append((f"{where}.payload", "is required (any JSON value, e.g. {})"))
        elif depth(item["payload"]) > MAX_DEPTH:
            problems.append((f"{where}.payload", f"nests deeper than {MAX_DEPTH} levels"))
        else:
            problems.check(f"{where}.payload", dump_json, item["payload"])
        requests.append((type_code, item.get("payload")))
    return requests
