"""Building jobs in memory, refusing bad input before it is stored."""

from __future__ import annotations

from .models import Job
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
        # No ``requests=[]``: the ORM starts the empty list on first use, for less than
        # replacing one costs (docs/benchmarks.md).
        return Job(
            relation_id=self._relation_id,
            store_id=self._store_id,
            source_id=self._source_id,
            state=JobState.PENDING,
        )
