"""The queue core: jobs of ordered requests, their retry schedule and the digest.

Knows nothing of the web: it takes a SQLAlchemy session and a clock, so the CLI, the
dashboard and user code call it alike.
"""

from __future__ import annotations

from .actions import ActionRefused
from .builder import JobBuilder
from .claims import NotRunnable
from .digest import DigestResult, JobDigest
from .models import Attempt, DigestRun, FailureAlert, Job, Request
from .pauses import PausedType
from .repository import JobRepository
from .request_builder import RequestBuilder
from .retry import RetryStrategy
from .settings import PLAIN, QueueSettings, QueueSetup, clock, current
from .states import JobState, RequestState
from .types import (
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
