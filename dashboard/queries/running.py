"""A request running now, as an operator sees it: since when, for how long, and how long
it may run before the digest ends it (its timeout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..queue.jobs.models import Request
from ..queue.jobs.settings import current
from ..queue.jobs.states import RequestState
from ..queue.jobs.types import UnknownRequestType, registry, timeout_of


@dataclass(frozen=True)
class RunningCall:
    #: When the digest marked the request running (its call started then).
    started_at: datetime
    #: Seconds since, by the clock of whoever asks.
    elapsed: float
    #: Seconds it may run: its type's ``timeout``, else QUEUE_REQUEST_TIMEOUT.
    timeout: float

    @property
    def overdue(self) -> bool:
        """Running past its timeout: the call hangs."""
        return self.elapsed > self.timeout


def running_call(found: Request, now: datetime | None = None) -> RunningCall | None:
    """The request's call, if it is running now; None otherwise."""
    if found.state != RequestState.RUNNING:
        return None
    setup = current()
    try:
        type_cls = registry.get(found.type_code)
    except UnknownRequestType:
        type_cls = None
    moment = now if now is not None else setup.clock()
    return RunningCall(found.updated_at, max(0.0, (moment - found.updated_at).total_seconds()),
                       timeout_of(type_cls, setup.settings.request_timeout))


def running_document(found: Request, now: datetime | None = None) -> dict | None:
    """The call as JSON (the API, ``jobs show``); None unless the request runs."""
    call = running_call(found, now)
    if call is None:
        return None
    return {"started_at": call.started_at.astimezone(UTC).isoformat(),
            "elapsed": round(call.elapsed, 3), "timeout": call.timeout}
