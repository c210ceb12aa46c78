"""Adding one request to a job being built, refusing bad input before it is stored.

Below the models (``Job.request_builder()`` hands this out), so it is given the
``Request`` class rather than importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.collections import collection_adapter

from ..db import unsaved
from .payload import canonical, dump_json
from .settings import current
from .states import RequestState
from .types import validate_type_code

if TYPE_CHECKING:
    from .models import Job, Request


class RequestBuilder:
    """Adds one request to a job: ``job.request_builder().set_type_code(..).set_payload(..)
    .create()``. A request equal to one already in the job (same type and payload) is
    dropped, and the existing one returned."""

    def __init__(self, job: Job, request_class: type[Request]) -> None:
        self._job = job
        self._request_class = request_class
        self._type_code: str | None = None
        self._payload: str | None = None
        self._payload_search: str | None = None

    def set_type_code(self, type_code: str) -> RequestBuilder:
        self._type_code = validate_type_code(type_code)
        return self

    def set_payload(self, payload: Any) -> RequestBuilder:
        self._payload = dump_json(payload)
        # Its search copy now, from the value the text was made of (a value changed later
        # would no longer match the text).
        self._payload_search = current().settings.masker.searchable(self._payload,
                                                                   value=payload)
        return self

    def create(self) -> Request:
        if self._type_code is None:
            raise ValueError("a request needs a type code: call set_type_code() first")
        if self._payload is None:
            raise ValueError("a request needs a payload: call set_payload() first")
        if self._job.id is not None:
            raise ValueError(f"job {self._job.id} is already saved; build a new job instead")
        requests = _requests_of(self._job)
        # A job's first request has nothing to be a duplicate of: it is indexed (its payload
        # made canonical) only when a second one comes.
        known = _known_requests(self._job) if requests else None
        key = (self._type_code, canonical(self._payload)) if known is not None else None
        if known is not None and key in known:
            return known[key]
        request = unsaved(self._request_class, {
            "type_code": self._type_code,
            "payload": self._payload,
            "payload_search": self._payload_search,
            "position": len(requests),
            "state": RequestState.PENDING,
            "attempts": 0,
        })
        collection_adapter(requests).append_without_event(request)
        if known is not None:
            known[key] = request
            self._job._known_requests = (len(requests), known)
        return request


def _requests_of(job: Job) -> list[Request]:
    """The job's list of requests, to add to without the ORM's events (a save writes the
    requests itself). A job built by JobBuilder has one; another starts one here."""
    if "requests" not in job.__dict__:
        set_committed_value(job, "requests", [])
    return job.requests


def _known_requests(job: Job) -> dict[tuple[str, str], Request]:
    """The job's requests by (type code, canonical payload), to find a duplicate in one
    look-up: comparing with every earlier request cost a 1,000-request job 500,000
    canonical() calls. Kept on the job; requests appended to ``job.requests`` some other
    way are indexed on the next call."""
    known: dict[tuple[str, str], Request]
    count, known = getattr(job, "_known_requests", (0, {}))
    requests = job.requests
    if count > len(requests):  # some were taken out: start again
        count, known = 0, {}
    for existing in requests[count:]:
        known.setdefault((existing.type_code, canonical(existing.payload)), existing)
    return known
