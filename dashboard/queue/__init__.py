"""The queue core: jobs of ordered requests, their retry schedule and the digest.

Knows nothing of the web: it takes a SQLAlchemy session and a clock, so the CLI, the
dashboard and user code call it alike.
"""

from __future__ import annotations

from .digest.job_digest import DigestResult, JobDigest
from .jobs.builder import JobBuilder
from .jobs.models import Attempt, DigestRun, FailureAlert, Job, Request
from .jobs.request_builder import RequestBuilder
from .jobs.retry import RetryStrategy
from .jobs.settings import PLAIN, QueueSettings, QueueSetup, clock, current
from .jobs.states import JobState, RequestState
from .jobs.types import (
    Connector,
    PermanentFailure,
    RequestContext,
    RequestType,
    RequestTypeRegistry,
    UnknownRequestType,
    execute_direct,
    load_types,
    registry,
)
from .operations.actions import ActionRefused
from .store.claims import NotRunnable
from .store.pauses import PausedType
from .store.repository import JobRepository

__all__ = [
    "PLAIN",
    "ActionRefused",
    "Attempt",
    "Connector",
    "DigestResult",
    "DigestRun",
    "FailureAlert",
    "Job",
    "JobBuilder",
    "JobDigest",
    "JobRepository",
    "JobState",
    "NotRunnable",
    "PausedType",
    "PermanentFailure",
    "QueueSettings",
    "QueueSetup",
    "Request",
    "RequestBuilder",
    "RequestContext",
    "RequestState",
    "RequestType",
    "RequestTypeRegistry",
    "RetryStrategy",
    "UnknownRequestType",
    "clock",
    "current",
    "execute_direct",
    "load_types",
    "registry",
]
