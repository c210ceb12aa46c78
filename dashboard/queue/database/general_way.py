"""Where PostgreSQL's one-statement way gives way to the general one, said and counted.

On PostgreSQL a digest's step and a save are each one statement (dialect.PostgreSQL); some
are not, and take the general way (a transaction of a few statements, writes.py and
dialect.General). Each such fallback is logged (DEBUG, one line naming its reason) and
counted by reason: a digest's steps in its run's ``DigestResult.general_way`` (and its
summary), saves in ``SAVES``.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import Counter

log = logging.getLogger("dashboard.general_way")


class Reason(enum.StrEnum):
    """Why a write that has a one-statement way on PostgreSQL did not take it."""

    #: A step to send alone found a transaction open on its connection: it goes as its
    #: statement inside that transaction.
    IN_TRANSACTION = "alone with a transaction open"
    #: A request failed: its outcome (a retry, or a failure and its alert) has no statement.
    REQUEST_FAILED = "a request failed"
    #: No statement writes this combination of outcome and start.
    NO_STATEMENT = "no statement for this step"
    #: The step gives jobs back (claims.release), which has no statement.
    JOBS_GIVEN_BACK = "jobs given back"
    #: The step writes a job an earlier step of its group writes too: after it, the
    #: general way (one statement for the group applies each job's writes once).
    JOB_TWICE_IN_A_GROUP = "a job in two steps of a group"
    #: The statement wrote nothing: the job is no longer held as it expected (another
    #: digest took it, an operator paused or cancelled it). The general way says why.
    OUTCOME_REFUSED = "the outcome's job not held"
    #: The outcome was written but the start's job was let go meanwhile: the general way
    #: says why.
    START_REFUSED = "the start's job not held"
    #: A save through a session bound to one connection, in the session's transaction.
    BOUND_TO_A_CONNECTION = "a session bound to one connection"
    #: A save of jobs with unique keys: one job at a time, the unique index deciding
    #: (unique_keys.py).
    UNIQUE_KEYS = "jobs with unique keys"


class Tally:
    """Fallbacks counted by reason; threads may add to it at once."""

    def __init__(self) -> None:
        self._counts: Counter[Reason] = Counter()
        self._lock = threading.Lock()

    def took(self, reason: Reason, what: str) -> None:
        """``what`` (a step, a save) took the general way, for ``reason``."""
        log.debug("%s took the general way: %s", what, reason)
        with self._lock:
            self._counts[reason] += 1

    def counts(self) -> dict[str, int]:
        """How many took the general way, by reason (only the reasons that came up)."""
        with self._lock:
            return {str(reason): n for reason, n in self._counts.items()}


#: This process's saves that took the general way on PostgreSQL.
SAVES = Tally()
