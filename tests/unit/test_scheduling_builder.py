"""What JobBuilder accepts for run at, delay, unique key and priority, and what it refuses."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboard.queue import JobBuilder


def test_the_values_reach_the_job():
    at = datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    job = JobBuilder().set_run_at(at).set_unique_key("order-7").set_priority(-100).create()
    assert (job.next_attempt_at, job.unique_key, job.priority) == (at, "order-7", -100)
    assert JobBuilder().set_delay(0).create().delay_seconds == 0
    default = JobBuilder().create()
    assert (default.priority, default.unique_key, default.next_attempt_at) == (0, None, None)


@pytest.mark.parametrize(("setter", "value", "message"), [
    # run at: an aware datetime only
    ("set_run_at", datetime(2026, 6, 1, 12), "timezone-aware"),
    ("set_run_at", "2026-06-01T12:00:00Z", "must be a datetime"),
    ("set_run_at", datetime(1, 1, 2, tzinfo=UTC), "between the years"),
    # delay: a finite, non-negative number of seconds, not absurdly far
    ("set_delay", -1, "must not be negative"),
    ("set_delay", "60", "number of seconds"),
    ("set_delay", True, "number of seconds"),
    ("set_delay", float("inf"), "number of seconds"),
    ("set_delay", float("nan"), "number of seconds"),
    ("set_delay", 10**12, "at most"),
    # unique key: 1-255 characters a database can store
    ("set_unique_key", "", "1 to 255"),
    ("set_unique_key", "k" * 256, "1 to 255"),
    ("set_unique_key", 42, "must be a string"),
    ("set_unique_key", "a\x00b", "control characters"),
    # priority: an integer, -100..100
    ("set_priority", 101, "between -100 and 100"),
    ("set_priority", -101, "between -100 and 100"),
    ("set_priority", True, "must be an integer"),
    ("set_priority", 1.5, "must be an integer"),
    ("set_priority", "5", "must be an integer"),
])
def test_bad_values_are_refused(setter, value, message):
    with pytest.raises(ValueError, match=message):
        getattr(JobBuilder(), setter)(value)


def test_run_at_and_delay_exclude_each_other():
    with pytest.raises(ValueError, match="exclude each other"):
        JobBuilder().set_delay(5).set_run_at(datetime.now(UTC))
    with pytest.raises(ValueError, match="exclude each other"):
        JobBuilder().set_run_at(datetime.now(UTC)).set_delay(5)


def test_none_leaves_a_setting_unset():
    # So a caller passes what it was given (an HTTP field, a CLI option) straight on.
    job = (JobBuilder().set_delay(5).set_run_at(None).set_unique_key(None).create())
    assert (job.delay_seconds, job.next_attempt_at, job.unique_key) == (5, None, None)
    at = datetime.now(UTC)
    assert JobBuilder().set_run_at(at).set_delay(None).create().next_attempt_at == at


def test_the_longest_key_and_the_extreme_priorities_are_accepted():
    assert JobBuilder().set_unique_key("k" * 255).create().unique_key == "k" * 255
    assert JobBuilder().set_priority(100).create().priority == 100
