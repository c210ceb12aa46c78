"""Reading --older-than and --state for the prune command."""

from datetime import timedelta

import pytest

from dashboard.queue import JobState
from dashboard.queue.operations.retention import parse_age, parse_states


@pytest.mark.parametrize(("text", "age"), [
    ("30d", timedelta(days=30)),
    ("12h", timedelta(hours=12)),
    ("90m", timedelta(minutes=90)),
    ("3600s", timedelta(seconds=3600)),
    ("2w", timedelta(weeks=2)),
    (" 7D ", timedelta(days=7)),     # spaces and case forgiven
    ("0d", timedelta(0)),            # everything finished before now
])
def test_ages(text, age):
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["30x", "30", "d", "-5d", "1.5d", "30 d", "", "30d2h"])
def test_bad_ages_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="is not an age: write a whole number and a unit"):
        parse_age(text)


@pytest.mark.parametrize(("text", "states"), [
    ("completed,cancelled", (JobState.COMPLETED, JobState.CANCELLED)),
    ("failed", (JobState.FAILED,)),
    (" Completed , failed,", (JobState.COMPLETED, JobState.FAILED)),
    ("failed,failed", (JobState.FAILED,)),
])
def test_states(text, states):
    assert parse_states(text) == states


@pytest.mark.parametrize(("text", "message"), [
    ("completed,done", "unknown state 'done': choose from completed, cancelled, failed"),
    ("pending", "pending jobs are not finished: only completed, cancelled, failed"),
    ("running", "running jobs are not finished"),
    (",", "name at least one state"),
])
def test_bad_states(text, message):
    with pytest.raises(ValueError, match=message):
        parse_states(text)


@pytest.mark.parametrize("text", ["36501d", "5300w", "999999999w", "9" * 5000 + "d"])
def test_ages_longer_than_a_century_are_refused_before_they_overflow(text):
    with pytest.raises(ValueError, match="is longer than 36500d; no job is that old"):
        parse_age(text)


def test_a_century_is_taken():
    assert parse_age("36500d") == timedelta(days=36500)
