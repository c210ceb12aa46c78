"""Building jobs in memory, refusing bad input before it is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.attributes import set_committed_value

from ...db import unsaved
from .models import Job
from .scheduling import validate_delay, validate_priority, validate_run_at, validate_unique_key
from .states import JobState
from .types import check_text

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
        self._run_at: datetime | None = None
        self._delay: float | None = None
        self._unique_key: str | None = None
        self._priority = 0

    def set_relation_id(self, relation_id: str | int | None) -> JobBuilder:
        self._relation_id = validate_relation_id(relation_id)
        return self

    def set_store_id(self, store_id: int | None) -> JobBuilder:
        self._store_id = validate_store_id(store_id)
        return self

    def set_source_id(self, source_id: str) -> JobBuilder:
        self._source_id = validate_source_id(source_id)
        return self

    def set_run_at(self, run_at: datetime | None) -> JobBuilder:
        """The digest starts the job at this time at the earliest (timezone-aware); None:
        as soon as it is saved."""
        if run_at is not None and self._delay is not None:
            raise ValueError("set_run_at and set_delay exclude each other")
        self._run_at = None if run_at is None else validate_run_at(run_at)
        return self

    def set_delay(self, seconds: float | None) -> JobBuilder:
        """The digest starts the job this many seconds after it is saved, at the earliest;
        None: no delay."""
        if seconds is not None and self._run_at is not None:
            raise ValueError("set_run_at and set_delay exclude each other")
        self._delay = None if seconds is None else validate_delay(seconds)
        return self

    def set_unique_key(self, unique_key: str | None) -> JobBuilder:
        """While an active job has this key, saving this one creates nothing (see
        ``JobRepository.save``); None: no key."""
        self._unique_key = None if unique_key is None else validate_unique_key(unique_key)
        return self

    def set_priority(self, priority: int) -> JobBuilder:
        """-100..100, default 0: due jobs are claimed higher first, then oldest first."""
        self._priority = validate_priority(priority)
        return self

    def create(self) -> Job:
        job = unsaved(Job, {
            "relation_id": self._relation_id,
            "store_id": self._store_id,
            "source_id": self._source_id,
            "state": JobState.PENDING,
            "next_attempt_at": self._run_at,
            "unique_key": self._unique_key,
            "priority": self._priority,
            "schedule_name": None,
            "schedule_slot": None,
        })
        # Its requests' list, empty, as a real collection (request_builder.py adds to it).
        set_committed_value(job, "requests", [])
        job.delay_seconds = self._delay
        return job
