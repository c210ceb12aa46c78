"""When a failed request is attempted again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .types import registry


@dataclass(frozen=True)
class RetryStrategy:
    """The seed's progressive schedule.

    After the k-th failed attempt: k = 1 retries at the next digest run, k >= 2 waits
    (k - 1) * ``delay`` seconds, and the request fails for good after ``max_attempts``.
    """

    max_attempts: int = 9
    delay: float = 7200.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.delay < 0:
            raise ValueError("the retry delay can't be negative")

    def next_attempt_at(self, failed_attempts: int, failed_at: datetime) -> datetime | None:
        """When to attempt again after ``failed_attempts`` failures, or None to give up."""
        if failed_attempts >= self.max_attempts:
            return None
        return failed_at + timedelta(seconds=(failed_attempts - 1) * self.delay)


def for_type(type_code: str, default: RetryStrategy) -> RetryStrategy:
    """The schedule of a request type: its own ``max_attempts`` and ``retry_delay`` where it
    sets them, the settings' ``default`` for the rest (and for a type no longer known)."""
    if type_code not in registry:
        return default
    type_cls = registry.get(type_code)
    if type_cls.max_attempts is None and type_cls.retry_delay is None:
        return default
    return RetryStrategy(
        max_attempts=type_cls.max_attempts or default.max_attempts,
        delay=default.delay if type_cls.retry_delay is None else type_cls.retry_delay,
    )
