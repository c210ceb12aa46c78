"""When a job may run, which jobs go first, and which may not be enqueued twice: the
checks of the values a job is given for them, shared by the builder, the CLI and the API."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from .types import check_text

MIN_PRIORITY, MAX_PRIORITY = -100, 100
MAX_UNIQUE_KEY_LENGTH = 255
#: Further ahead than this is a mistake (and past datetime's range soon enough).
MAX_DELAY = timedelta(days=3660)


def validate_run_at(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError("run_at must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("run_at must be timezone-aware (a naive datetime is ambiguous): "
                         "give it a tzinfo, e.g. datetime.now(UTC) + timedelta(minutes=10)")
    if not 1000 <= value.year <= 9998:
        raise ValueError("run_at must be between the years 1000 and 9998")
    return value


def parse_run_at(text: str) -> datetime:
    """An RFC 3339 time with its offset (``2026-03-01T09:30:00+01:00``, ``...Z``)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time "
                         "(e.g. 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z)") from None
    if value.tzinfo is None or "T" not in text.upper():
        raise ValueError(f"{text!r} needs a date, a time and an offset "
                         "(e.g. 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z)")
    return validate_run_at(value)


def validate_delay(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("delay must be a number of seconds")
    if value < 0:
        raise ValueError("delay must not be negative")
    if value > MAX_DELAY.total_seconds():
        raise ValueError(f"delay must be at most {MAX_DELAY.total_seconds():.0f} seconds "
                         f"({MAX_DELAY.days} days)")
    return float(value)


def validate_unique_key(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("unique_key must be a string")
    if not 1 <= len(value) <= MAX_UNIQUE_KEY_LENGTH:
        raise ValueError(f"unique_key must be 1 to {MAX_UNIQUE_KEY_LENGTH} characters long")
    check_text(value, "unique_key")
    return value


def validate_priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("priority must be an integer")
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValueError(f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
    return value
