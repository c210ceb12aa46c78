"""Request types: the code that executes a request, found by its type code.

A type is a subclass of :class:`RequestType`; defining it registers it in ``registry``
(the seed's RequestTypePool). Modules holding types are imported at start-up from ``QUEUE_TYPES``
or from the ``dashboard.request_types`` entry point group.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from .payload import dump_json, load_json
from .terminal import has_unsafe

ENTRY_POINT_GROUP = "dashboard.request_types"
MAX_TYPE_CODE_LENGTH = 100
#: As long as ``connectors.name``.
MAX_CONNECTOR_NAME_LENGTH = 100


class PermanentFailure(Exception):
    """Raised by a type when its request can never succeed: no retries (the seed's
    IllegalJobException, e.g. a customer outside the synced groups)."""


class UnknownRequestType(LookupError):
    def __init__(self, type_code: str) -> None:
        super().__init__(f"unknown request type {type_code!r}")
        self.type_code = type_code


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


class Connector:
    """What the types talking to one external service share: a logger and its limits.

    ``rate_limit`` (calls per second) and ``max_in_flight`` (calls at once) hold for every
    digest on every host together: the digest takes each call's turn from the database
    (see limits.py). ``acquire()`` paces only this process, for ``execute_direct``.
    """

    def __init__(self, name: str, *, rate_limit: float | None = None,
                 max_in_flight: int | None = None) -> None:
        self.name = validate_connector_name(name)
        self.rate_limit = _positive_rate(rate_limit)
        self.max_in_flight = _positive_count(max_in_flight)
        self.logger = logging.getLogger(f"dashboard.connector.{name}")
        self._lock = threading.Lock()
        self._next_call = 0.0

    @property
    def limited(self) -> bool:
        """Whether its calls take a turn from the database (no limit: no cost at all)."""
        return self.rate_limit is not None or self.max_in_flight is not None

    def acquire(self) -> None:
        if self.rate_limit is None:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next_call - now
            self._next_call = max(now, self._next_call) + 1.0 / self.rate_limit
        if wait > 0:
            time.sleep(wait)

    def __repr__(self) -> str:
        return (f"Connector({self.name!r}, rate_limit={self.rate_limit!r}, "
                f"max_in_flight={self.max_in_flight!r})")


def validate_connector_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: a connector's name must be a non-empty string")
    if len(name) > MAX_CONNECTOR_NAME_LENGTH:
        raise ValueError(f"name: a connector's name is at most {MAX_CONNECTOR_NAME_LENGTH} "
                         "characters long")
    check_text(name, "name: a connector's name")
    return name


def _positive_rate(value: object) -> float | None:
    if value is None:
        return None
    # bool is an int; True calls per second is a mistake, not a rate.
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            0 < value < math.inf):
        raise ValueError(f"rate_limit must be a positive, finite number of calls per second, "
                         f"got {value!r}")
    return float(value)


def _positive_count(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_in_flight must be a whole number of calls, at least 1, "
                         f"got {value!r}")
    return value


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
    #: Seconds a call of this type may run before the digest ends it as failed ("timed
    #: out after N s"); overrides ``QUEUE_REQUEST_TIMEOUT`` when set.
    timeout: ClassVar[float | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_code" in cls.__dict__:
            registry.register(cls)

    def execute(self, payload: Any, context: RequestContext) -> Any:
        """Do the work. The return value (JSON-serialisable) becomes the request's result."""
        raise NotImplementedError


class RequestTypeRegistry:
    """Request types by type code: every type defined, found by its code."""

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


registry = RequestTypeRegistry()


def timeout_of(type_cls: type[RequestType] | None, default: float) -> float:
    """Seconds a request of ``type_cls`` may run: its own ``timeout``, else ``default``
    (``QUEUE_REQUEST_TIMEOUT``); an unknown type (None) gets the default."""
    own = getattr(type_cls, "timeout", None)
    return float(own) if own is not None else default


def validate_type_code(type_code: object) -> str:
    if not isinstance(type_code, str) or not type_code.strip():
        raise ValueError("a type code must be a non-empty string")
    if len(type_code) > MAX_TYPE_CODE_LENGTH:
        raise ValueError(f"a type code is at most {MAX_TYPE_CODE_LENGTH} characters long")
    check_text(type_code, "a type code")
    return type_code


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
    type_cls = registry.get(type_code)
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
