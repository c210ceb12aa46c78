"""The states a job and a request move through, stored as short strings."""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    #: Saved and waiting for a digest; none of its requests has failed yet.
    PENDING = "pending"
    #: A digest is executing one of its requests right now.
    RUNNING = "running"
    #: A request failed and waits for its next attempt (``next_attempt_at``).
    RETRYING = "retrying"
    #: An operator paused it; the digest skips it until it is resumed.
    PAUSED = "paused"
    #: Every request succeeded.
    COMPLETED = "completed"
    #: A request exhausted its attempts or failed permanently.
    FAILED = "failed"
    #: An operator cancelled it; final.
    CANCELLED = "cancelled"


class RequestState(enum.StrEnum):
    #: Not executed yet (or waiting behind an earlier request of its job).
    PENDING = "pending"
    #: Being executed by a digest.
    RUNNING = "running"
    #: Executed successfully; never executed again.
    SUCCEEDED = "succeeded"
    #: Failed at least once; will be attempted again.
    RETRYING = "retrying"
    #: Exhausted its attempts or raised ``PermanentFailure``.
    FAILED = "failed"
    #: Its job was cancelled before it succeeded.
    CANCELLED = "cancelled"


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def written_out(states: tuple[enum.StrEnum, ...]) -> str:
    """``states`` as a list of SQL strings: ``'pending', 'retrying'``."""
    return ", ".join(f"'{state.value}'" for state in states)


#: Jobs a digest may claim when their time has come.
DUE_STATES = (JobState.PENDING, JobState.RETRYING)
#: Jobs that hold back later jobs of the same relation.
UNFINISHED_STATES = (
    JobState.PENDING,
    JobState.RUNNING,
    JobState.RETRYING,
    JobState.PAUSED,
    JobState.FAILED,
)
