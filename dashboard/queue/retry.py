"""When a failed request is attempted again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


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
