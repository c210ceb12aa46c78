from datetime import timedelta

import pytest

from dashboard.queue import RetryStrategy
from dashboard.queue.jobs import retry
from tests.support.clock import T0

HOUR = 3600


@pytest.mark.parametrize(
    ("failed_attempts", "wait_hours"),
    [
        (1, 0),  # the first failure retries at the next digest run
        (2, 2),  # then 2 h
        (3, 4),
        (4, 6),
        (5, 8),
        (6, 10),
        (7, 12),
        (8, 14),  # the ninth and last execution comes 14 h after the eighth failure
        (9, None),  # nine executions in all: give up
        (10, None),
    ],
)
def test_default_schedule_is_the_seeds(failed_attempts, wait_hours):
    at = RetryStrategy().next_attempt_at(failed_attempts, T0)
    if wait_hours is None:
        assert at is None
    else:
        assert at == T0 + timedelta(hours=wait_hours)


@pytest.mark.parametrize(
    ("max_attempts", "delay", "failed_attempts", "wait"),
    [
        (3, 60, 1, 0),
        (3, 60, 2, 60),
        (3, 60, 3, None),
        (1, 60, 1, None),  # one attempt only: no retry at all
        (5, 0, 4, 0),  # no delay: every retry at the next run
    ],
)
def test_configured_schedule(max_attempts, delay, failed_attempts, wait):
    at = RetryStrategy(max_attempts, delay).next_attempt_at(failed_attempts, T0)
    assert at == (None if wait is None else T0 + timedelta(seconds=wait))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_attempts": 0}, "max_attempts"),
    ({"delay": -1}, "delay"),
])
def test_contradictory_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetryStrategy(**kwargs)


DEFAULT = RetryStrategy(max_attempts=9, delay=7200)


@pytest.mark.parametrize(("type_code", "expected"), [
    ("test_short_schedule", RetryStrategy(max_attempts=3, delay=60)),  # sets both
    ("test_echo", DEFAULT),  # sets neither: the settings' schedule
    ("no_such_type", DEFAULT),  # no longer known: the settings' schedule
])
def test_a_request_type_brings_its_own_retry_schedule(type_code, expected):
    assert retry.for_type(type_code, DEFAULT) == expected
