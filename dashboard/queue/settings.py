"""What the queue core needs from its host application: a session and its settings.

The Flask app (or any other caller) plugs these in once with :func:`configure`; every
public class of the core also accepts them as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from ..db import utcnow
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

    def __post_init__(self) -> None:
        if self.max_jobs_per_run < 1:
            raise ValueError("max_jobs_per_run must be at least 1")
        if self.lease_seconds <= 0:
            raise ValueError("the lease must be a positive number of seconds")
        if self.claim_batch < 1:
            raise ValueError("claim_batch must be at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 0 <= self.limit_wait < float("inf"):
            raise ValueError("limit_wait must be a number of seconds, 0 or more")

    @cached_property
    def masker(self) -> Masker:
        return Masker(self.masked_keys)


_session_factory: Callable[[], Session] | None = None
_settings = QueueSettings()
_clock: Callable[[], datetime] = utcnow


def configure(
    *,
    session: Callable[[], Session] | None = None,
    settings: QueueSettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    global _session_factory, _settings, _clock
    if session is not None:
        _session_factory = session
    if settings is not None:
        _settings = settings
    if clock is not None:
        _clock = clock


def default_session() -> Session:
    if _session_factory is None:
        raise RuntimeError(
            "no database session: pass session=... or call dashboard.queue.configure(session=...) "
            "(create_app() does this)"
        )
    return _session_factory()


def default_settings() -> QueueSettings:
    return _settings


def default_clock() -> Callable[[], datetime]:
    return _clock
