"""Adding one request to a job being built, refusing bad input before it is stored.

Below the models (``Job.request_builder()`` hands this out): it is given the ``Request``
class, and knows a job and a request only by what it uses of them (``BuildingJob``,
``BuiltRequest``), never by importing models.py, not even for its types.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.collections import collection_adapter

from ...db import unsaved
from .payload import canonical, dump_json
from .settings import current
from .states import RequestState
from .types import validate_type_code


class BuiltRequest(Protocol):
    """What the builder reads of a request already in the job (models.Request)."""

    type_code: str
    payload: str


#: The request class (models.Request). Not bound to BuiltRequest: mypy does not see the
#: ORM's ``Mapped`` attributes as plain ones when it checks a type variable's bound.
R = TypeVar("R")


class BuildingJob(Protocol[R]):
    """What the builder uses of the job it adds to (models.Job)."""

    @property
    def id(self) -> int | None: ...

    @property
    def requests(self) -> list[R]: ...


#: Where a job keeps its requests by (type code, canonical payload): see _known_requests.
_KNOWN = "_known_requests"


class RequestBuilder(Generic[R]):
    """Adds one request to a job: ``job.request_builder().set_type_code(..).set_payload(..)
    .create()``. A request equal to one already in the job (same type and payload) is
    dropped, and the existing one returned."""

    def __init__(self, job: BuildingJob[R], request_class: type[R]) -> None:
        self._job = job
        self._request_class = request_class
        self._type_code: str | None = None
        self._payload: str | None = None
        self._payload_search: str | None = None

    def set_type_code(self, type_code: str) -> RequestBuilder[R]:
        self._type_code = validate_type_code(type_code)
        return self

    def set_payload(self, payload: Any) -> RequestBuilder[R]:
        self._payload = dump_json(payload)
        # Its search copy now, from the value the text was made of (a value changed later
        # would no longer match the text).
        self._payload_search = current().settings.masker.searchable(self._payload,
                                                                   value=payload)
        return self

    def create(self) -> R:
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
        if known is not None and key is not None:
            known[key] = request
            self._job.__dict__[_KNOWN] = (len(requests), known)
        return request


def _requests_of(job: BuildingJob[R]) -> list[R]:
    """The job's list of requests, to add to without the ORM's events (a save writes the
    requests itself). A job built by JobBuilder has one; another starts one here."""
    if "requests" not in job.__dict__:
        set_committed_value(job, "requests", [])
    return job.requests


def _known_requests(job: BuildingJob[R]) -> dict[tuple[str, str], R]:
    """The job's requests by (type code, canonical payload), to find a duplicate in one
    look-up: comparing with every earlier request cost a 1,000-request job 500,000
    canonical() calls. Kept on the job; requests appended to ``job.requests`` some other
    way are indexed on the next call."""
    known: dict[tuple[str, str], R]
    count, known = job.__dict__.get(_KNOWN, (0, {}))
    requests = job.requests
    if count > len(requests):  # some were taken out: start again
        count, known = 0, {}
    for existing in requests[count:]:
        built = cast(BuiltRequest, existing)
        known.setdefault((built.type_code, canonical(built.payload)), existing)
    return known
