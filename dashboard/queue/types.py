"""Request types: the code that executes a request, found by its type code.

A type is a subclass of :class:`RequestType`; defining it registers it (the seed's
RequestTypePool). Modules holding types are imported at start-up from ``QUEUE_TYPES``
or from the ``dashboard.request_types`` entry point group.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from ..terminal import has_unsafe
from .payload import dump_json, load_json

ENTRY_POINT_GROUP = "dashboard.request_types"
MAX_TYPE_CODE_LENGTH = 100


class PermanentFailure(Exception):
    """Raised by a type when its request can never succeed: no retries (the seed's
    IllegalJobException, e.g. a customer outside the synced groups)."""


class UnknownRequestType(LookupError):
    def __init__(self, type_code: str) -> None:
        super().__init__(f"unknown request type {type_code!r}")
        self.type_code = type_code


class Connector:
    """What the types talking to one external service share: a logger and a rate limit.

    ``rate_limit`` is in calls per second for the whole process; ``acquire()`` sleeps
    just long enough to respect it. The digest calls it before each execution.
    """

    def __init__(self, name: str, *, rate_limit: float | None = None) -> None:
        if rate_limit is not None and rate_limit <= 0:
            raise ValueError("rate_limit must be a positive number of calls per second")
        self.name = name
        self.rate_limit = rate_limit
        self.logger = logging.getLogger(f"dashboard.connector.{name}")
        self._lock = threading.Lock()
        self._next_call = 0.0

    def acquire(self) -> None:
        if self.rate_limit is None:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next_call - now
            self._next_call = max(now, self._next_call) + 1.0 / self.rate_limit
        if wait > 0:
            time.sleep(wait)


DEFAULT_CONNECTOR = Connector("default")


@dataclass(frozen=True)
class JobInfo:
    """The job a request belongs to, as a type sees it (a snapshot, not a live row)."""

    id: int | None
    relation_id: str | None
    source_id: str
    store_id: int | None


@dataclass(frozen=True)
class RequestInfo:
    id: int | None
    position: int
    type_code: str
    attempt: int


@dataclass(frozen=True)
class RequestContext:
    job: JobInfo | None
    request: RequestInfo | None
    previous_result: Any
    connector: Connector
    #: The connector's logger; in the digest, one that hides the request's secrets.
    logger: logging.Logger | logging.LoggerAdapter = field(repr=False)


class RequestType:
    """Base class of request types. Subclasses set ``type_code`` and implement ``execute``."""

    type_code: ClassVar[str]
    connector: ClassVar[Connector] = DEFAULT_CONNECTOR
    #: Overrides ``QUEUE_MAX_ATTEMPTS`` for this type when set.
    max_attempts: ClassVar[int | None] = None
    #: Overrides ``QUEUE_RETRY_DELAY`` (seconds) for this type when set.
    retry_delay: ClassVar[float | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_code" in cls.__dict__:
            pool.register(cls)

    def execute(self, payload: Any, context: RequestContext) -> Any:
        """Do the work. The return value (JSON-serialisable) becomes the request's result."""
        raise NotImplementedError


class RequestTypePool:
    """Request types by type code."""

    def __init__(self) -> None:
        self._types: dict[str, type[RequestType]] = {}

    def register(self, type_cls: type[RequestType]) -> None:
        code = validate_type_code(type_cls.type_code)
        existing = self._types.get(code)
        if existing is not None and existing.__qualname__ != type_cls.__qualname__:
            raise ValueError(
                f"type code {code!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        self._types[code] = type_cls

    def get(self, type_code: str) -> type[RequestType]:
        try:
            return self._types[type_code]
        except KeyError:
            raise UnknownRequestType(type_code) from None

    def codes(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, type_code: object) -> bool:
        return type_code in self._types


pool = RequestTypePool()


def validate_type_code(type_code: object) -> str:
    if not isinstance(type_code, str) or not type_code.strip():
        raise ValueError("a type code must be a non-empty string")
    if len(type_code) > MAX_TYPE_CODE_LENGTH:
        raise ValueError(f"a type code is at most {MAX_TYPE_CODE_LENGTH} characters long")
    check_text(type_code, "a type code")
    return type_code


def check_text(text: str, what: str) -> None:
    """Refuse what a database can't store or a log line can't show in an identifier:
    control characters, C0 and C1 (PostgreSQL refuses NUL; ESC and CSI act on terminals),
    bidi controls (they show an id as another), and lone surrogates (not UTF-8)."""
    if has_unsafe(text):
        raise ValueError(f"{what} must not contain control characters (C0, C1, line "
                         "separators or bidi controls)")
    if not _encodes(text):
        raise ValueError(f"{what} is not valid Unicode (a lone surrogate)")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_types(modules: list[str] | tuple[str, ...] = ()) -> None:
    """Import the modules that define request types, then the installed entry points."""
    for name in modules:
        importlib.import_module(name)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()


def execute_direct(type_code: str, payload: Any, *, previous_result: Any = None) -> Any:
    """Run a type at once, without a job or the queue (the seed's direct execution).

    The payload goes through the same JSON round trip as a queued one, so a type sees
    the same data either way. Exceptions propagate to the caller.
    """
    type_cls = pool.get(type_code)
    data = load_json(dump_json(payload))
    connector = type_cls.connector
    connector.acquire()
    context = RequestContext(
        job=None,
        request=None,
        previous_result=previous_result,
        connector=connector,
        logger=connector.logger,
    )
    return type_cls().execute(data, context)
