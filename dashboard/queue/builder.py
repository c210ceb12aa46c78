"""Building jobs and their requests in memory, refusing bad input before it is stored."""

from __future__ import annotations

from typing import Any

from .models import Job, Request
from .payload import canonical, dump_json
from .settings import default_settings
from .states import JobState, RequestState
from .types import check_text, validate_type_code

MAX_RELATION_ID_LENGTH = 255
MAX_SOURCE_ID_LENGTH = 100
#: store_id is a 32-bit INTEGER column on PostgreSQL and MariaDB.
MIN_STORE_ID, MAX_STORE_ID = -(2**31), 2**31 - 1


def validate_relation_id(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("relation_id must be a string or an integer")
    text = str(value)
    if not text or len(text) > MAX_RELATION_ID_LENGTH:
        raise ValueError(f"relation_id must be 1 to {MAX_RELATION_ID_LENGTH} characters long")
    check_text(text, "relation_id")
    return text


def validate_store_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("store_id must be an integer")
    if not MIN_STORE_ID <= value <= MAX_STORE_ID:
        raise ValueError(f"store_id must be between {MIN_STORE_ID} and {MAX_STORE_ID}")
    return value


def validate_source_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SOURCE_ID_LENGTH:
        raise ValueError(f"source_id must be a non-empty string of at most {MAX_SOURCE_ID_LENGTH} "
                         "characters")
    check_text(value, "source_id")
    return value


class JobBuilder:
    """``JobBuilder().set_relation_id("cust-42").set_store_id(1).create()``"""

    def __init__(self) -> None:
        self._relation_id: str | None = None
        self._store_id: int | None = None
        self._source_id = "default"

    def set_relation_id(self, relation_id: str | int | None) -> JobBuilder:
        self._relation_id = validate_relation_id(relation_id)
        return self

    def set_store_id(self, store_id: int | None) -> JobBuilder:
        self._store_id = validate_store_id(store_id)
        return self

    def set_source_id(self, source_id: str) -> JobBuilder:
        self._source_id = validate_source_id(source_id)
        return self

    def create(self) -> Job:
        # No ``requests=[]``: the ORM starts the empty list on first use, for a third of
        # the cost of replacing one.
        return Job(
            relation_id=self._relation_id,
            store_id=self._store_id,
            source_id=self._source_id,
            state=JobState.PENDING,
        )


class RequestBuilder:
    """Adds one request to a job: ``job.request_builder().set_type_code(..).set_payload(..)
    .create()``. A request equal to one already in the job (same type and payload) is
    dropped, and the existing one returned."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self._type_code: str | None = None
        self._payload: str | None = None

    def set_type_code(self, type_code: str) -> RequestBuilder:
        self._type_code = validate_type_code(type_code)
        return self

    def set_payload(self, payload: Any) -> RequestBuilder:
        self._payload = dump_json(payload)
        return self

    def create(self) -> Request:
        if self._type_code is None:
            raise ValueError("a request needs a type code: call set_type_code() first")
        if self._payload is None:
            raise ValueError("a request needs a payload: call set_payload() first")
        if self._job.id is not None:
            raise ValueError(f"job {self._job.id} is already saved; build a new job instead")
        requests = self._job.requests
        known = _known_requests(self._job)
        key = (self._type_code, canonical(self._payload))
        if key in known:
            return known[key]
        request = Request(
            type_code=self._type_code,
            payload=self._payload,
            payload_search=default_settings().masker.searchable(self._payload),
            position=len(requests),
            state=RequestState.PENDING,
            attempts=0,
        )
        requests.append(request)
        known[key] = request
        self._job._known_requests = (len(requests), known)
        return request


def _known_requests(job: Job) -> dict[tuple[str, str], Request]:
    """The job's requests by (type code, canonical payload), to find a duplicate in one
    look-up: comparing with every earlier request cost a 1,000-request job 500,000
    canonical() calls. Kept on the job; requests appended to ``job.requests`` some other
    way are indexed on the next call."""
    count, known = getattr(job, "_known_requests", (0, {}))
    requests = job.requests
    if count > len(requests):  # some were taken out: start again
        count, known = 0, {}
    for existing in requests[count:]:
        known.setdefault((existing.type_code, canonical(existing.payload)), existing)
    return known
