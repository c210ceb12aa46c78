"""The overview strip's requests in flight per minute, from spans of minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.queries.minutes import MINUTE, MinutesInFlight

FIRST = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
LAST = FIRST + 59 * MINUTE


def at(minute: int) -> datetime:
    return FIRST + minute * MINUTE


def test_each_minute_counts_the_spans_that_cover_it_both_ends_included():
    flying = MinutesInFlight(FIRST, LAST)
    flying.add(at(3), at(5), 2)
    flying.add(at(5), at(5), 1)
    found = flying.per_minute()
    assert len(found) == 60
    assert found[:7] == [0, 0, 0, 2, 2, 3, 0]
    assert sum(found) == 7


def test_spans_are_cut_to_the_strip_and_a_span_ending_before_it_begins_counts_nowhere():
    flying = MinutesInFlight(FIRST, LAST)
    flying.add(FIRST - timedelta(hours=5), at(1), 1)  # running for hours: from the first
    flying.add(at(58), LAST + timedelta(days=1), 4)  # a host's clock ahead: to the last
    flying.add(at(10), at(9), 9)  # began after it ended (clocks apart): nowhere
    flying.add(FIRST - timedelta(hours=2), FIRST - MINUTE, 5)  # over before the strip
    found = flying.per_minute()
    assert found[:3] == [1, 1, 0]
    assert found[-3:] == [0, 4, 4]
    assert sum(found) == 2 + 8


def test_a_thousand_requests_running_for_hours_fill_every_minute():
    flying = MinutesInFlight(FIRST, LAST)
    for _ in range(1000):
        flying.add(FIRST - timedelta(hours=3), LAST, 1)
    assert flying.per_minute() == [1000] * 60
