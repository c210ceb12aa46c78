"""What the queue core needs from its host application: a session, settings and a clock.

Every public class of the core takes them as arguments; what a caller leaves out comes
from the setup of the application it runs in (:func:`current`), else from defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from ...db import utcnow
from .masking import DEFAULT_WORDS, Masker
from .retry import RetryStrategy


@dataclass(frozen=True)
class QueueSettings:
    retry: RetryStrategy = field(default_factory=RetryStrategy)
    max_jobs_per_run: int = 500
    lease_seconds: float = 300.0
    #: Jobs claimed per round trip by a digest.
    claim_batch: int = 10
    #: Jobs one digest process runs at once, each in a thread (QUEUE_CONCURRENCY).
    concurrency: int = 8
    #: Database connections one digest process opens at most, whatever its concurrency
    #: (QUEUE_DB_CONNECTIONS): one for its session, the rest shared by its jobs in flight,
    #: its claims and its heartbeat (see connections.py).
    db_connections: int = 8
    #: Seconds a digest waits for a connection the server refuses or lost (too many
    #: clients, a restart) before it gives up (QUEUE_DB_WAIT_SECONDS).
    db_wait_seconds: float = 60.0
    #: Called as ``listener(digest, result)`` when a run of due jobs ends (not after a
    #: ``set_job`` run): how the host application reacts to runs, e.g. sends failure alerts.
    #: A listener's exception is logged and never fails the run.
    run_listeners: tuple[Callable[[Any, Any], None], ...] = ()
    #: Words of the payload keys whose values are secret (``QUEUE_MASKED_KEYS``): masked in
    #: the search copy of payloads, and hidden in the errors, tracebacks and log lines of
    #: the requests that carry them.
    masked_keys: tuple[str, ...] = DEFAULT_WORDS
    #: Seconds a request waits for a turn at its connector's limits; past that its job is
    #: given back, due when the connector may have room (see limits.py).
    limit_wait: float = 10.0
    #: Seconds a request may run before it is ended as failed, for types that don't set
    #: their own ``timeout`` (QUEUE_REQUEST_TIMEOUT).
    request_timeout: float = 300.0
    #: The recurring schedule's entries (QUEUE_SCHEDULE, see recurring.py): each run of due
    #: jobs first enqueues their occurrences that have fallen due.
    schedule: tuple[Any, ...] = ()
    #: Seconds a digest host's clock may be off the database server's before it is warned
    #: of (QUEUE_CLOCK_SKEW_WARN; see db_clock.py).
    clock_skew_warn: float = 5.0

    def __post_init__(self) -> None:
        if self.max_jobs_per_run < 1:
            raise ValueError("max_jobs_per_run must be at least 1")
        if self.lease_seconds <= 0:
            raise ValueError("the lease must be a positive number of seconds")
        if self.claim_batch < 1:
            raise ValueError("claim_batch must be at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.db_connections < 2:
            raise ValueError("db_connections must be at least 2 (the session's and one more)")
        if not 0 <= self.db_wait_seconds < float("inf"):
            raise ValueError("db_wait_seconds must be a number of seconds, 0 or more")
        if not 0 <= self.limit_wait < float("inf"):
            raise ValueError("limit_wait must be a number of seconds, 0 or more")
        if not 0 < self.request_timeout < float("inf"):
            raise ValueError("request_timeout must be a positive number of seconds")
        if not 0 < self.clock_skew_warn < float("inf"):
            raise ValueError("clock_skew_warn must be a positive number of seconds")

    @cached_property
    def masker(self) -> Masker:
        return Masker(self.masked_keys)


@dataclass(frozen=True)
class QueueSetup:
    """What the core takes from its host application when a caller does not pass it: where
    sessions come from, the settings, the clock.

    Each Flask app keeps its own on ``app.extensions["queue"]`` (``create_app`` binds it),
    so two apps in one process don't share settings or run listeners. Outside any app the
    core uses ``PLAIN``: the default settings, the real clock, and no session (pass one).
    """

    session: Callable[[], Session] | None = None
    settings: QueueSettings = field(default_factory=QueueSettings)
    clock: Callable[[], datetime] = utcnow

    def new_session(self) -> Session:
        if self.session is None:
            raise RuntimeError(
                "no database session: pass session=... (create_app() provides one to the "
                "code that runs in its app context)")
        return self.session()


#: The setup outside any application: defaults, and no session.
PLAIN = QueueSetup()

#: How to find the setup of the application the calling code runs in (a Flask app's, in
#: its app context), or None outside one. The host adds its finder once; the setups live
#: on the applications, not here.
_finders: list[Callable[[], QueueSetup | None]] = []


def add_finder(find: Callable[[], QueueSetup | None]) -> None:
    """Let the core find the host application's setup through ``find`` (once per finder)."""
    if find not in _finders:
        _finders.append(find)


def current() -> QueueSetup:
    """The setup of the application this code runs in, or ``PLAIN``."""
    for find in _finders:
        found = find()
        if found is not None:
            return found
    return PLAIN


def clock() -> datetime:
    """The current time by the clock of the application this code runs in (UTC)."""
    return current().clock()
