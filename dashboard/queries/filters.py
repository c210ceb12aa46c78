"""The job list's filters: parsed from URL parameters, refused with the wrong value named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..queue.builder import (
    MAX_RELATION_ID_LENGTH,
    MAX_SOURCE_ID_LENGTH,
    MAX_STORE_ID,
    MIN_STORE_ID,
)
from ..queue.states import JobState
from ..queue.types import MAX_TYPE_CODE_LENGTH

MAX_SEARCH_LENGTH = 200
#: Ids are 32-bit INTEGER columns on PostgreSQL and MariaDB.
MAX_ID = 2**31 - 1
#: MariaDB's DATETIME starts at year 1000; the queue holds no job older than 1970;
#: 9999-12-31 as "to" (its whole day) would end past year 9999.
MIN_YEAR, MAX_YEAR = 1970, 9999
#: URL parameter -> JobFilter field.
PARAMETERS = {
    "state": "state", "type": "type_code", "relation": "relation_id", "store": "store_id",
    "source": "source_id", "from": "created_from", "to": "created_to", "q": "search",
}


class BadFilter(ValueError):
    """A filter value that can't be used; the message names the parameter and the value."""

    def __init__(self, parameter: str, value: object, reason: str) -> None:
        super().__init__(f"{parameter}={value!r}: {reason}")
        self.parameter = parameter
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class JobFilter:
    state: JobState | None = None
    type_code: str | None = None
    relation_id: str | None = None
    store_id: int | None = None
    source_id: str | None = None
    #: Created at or after this time.
    created_from: datetime | None = None
    #: Created before this time (a date given as ``to`` includes its whole day).
    created_to: datetime | None = None
    #: Free text searched in payloads and failure reasons.
    search: str | None = None
    #: Only jobs of these sources (an API token's scope); not a URL parameter.
    sources: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def to_params(self) -> dict[str, str]:
        """The URL parameters that give this filter back (for links and the audit log)."""
        values = asdict(self)
        params: dict[str, str] = {}
        for parameter, name in PARAMETERS.items():
            value = values[name]
            if value is None:
                continue
            if name == "created_to":
                value = value - timedelta(microseconds=1) if _is_midnight(value) else value
            params[parameter] = _show(value)
        return params


def parse_filter(args: Mapping[str, Any], *, extra: tuple[str, ...] = ()) -> JobFilter:
    """A JobFilter from URL parameters (a value may be a list, as a MultiDict gives).

    Blank values are ignored. Parameters in ``extra`` are left for the caller; any other
    unknown parameter is refused, so a typo never silently shows everything.
    """
    values: dict[str, Any] = {}
    for parameter, raw in args.items():
        if isinstance(raw, list | tuple):
            if len(raw) > 1:
                raise BadFilter(parameter, raw, "given more than once; give it once")
            raw = raw[0] if raw else ""
        if parameter in extra:
            continue
        if parameter not in PARAMETERS:
            known = ", ".join(PARAMETERS)
            raise BadFilter(parameter, raw, f"unknown filter (known: {known})")
        text = str(raw).strip()
        if text:
            values[PARAMETERS[parameter]] = _PARSERS[parameter](parameter, text)
    found = JobFilter(**values)
    if found.created_from and found.created_to and found.created_from >= found.created_to:
        raise BadFilter("from", found.to_params()["from"], "is not before 'to'")
    return found


def parse_id(parameter: str, raw: str | None) -> int | None:
    """A positive job or entry id from a URL parameter (a page cursor), or None."""
    if raw is None or not str(raw).strip():
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise BadFilter(parameter, raw, "is not a whole number") from None
    if not 1 <= value <= MAX_ID:
        raise BadFilter(parameter, raw, f"must be between 1 and {MAX_ID}")
    return value


def _state(parameter: str, text: str) -> JobState:
    try:
        return JobState(text.lower())
    except ValueError:
        known = ", ".join(s.value for s in JobState)
        raise BadFilter(parameter, text, f"is not a job state (one of {known})") from None


def _text(limit: int):  # noqa: ANN202
    def parse(parameter: str, text: str) -> str:
        if len(text) > limit:
            raise BadFilter(parameter, text[:40] + "...", f"is longer than {limit} characters")
        if "\x00" in text:  # PostgreSQL refuses NUL in text; no stored value has one
            raise BadFilter(parameter, text, "contains a NUL character")
        return text
    return parse


def _store(parameter: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadFilter(parameter, text, "is not a store id (a whole number)") from None
    if not MIN_STORE_ID <= value <= MAX_STORE_ID:
        raise BadFilter(parameter, text,
                        f"is not a store id (between {MIN_STORE_ID} and {MAX_STORE_ID})")
    return value


def _time(parameter: str, text: str) -> datetime:
    try:
        if len(text) == 10:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
            if parameter == "to":
                value += timedelta(days=1)  # the whole day
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except ValueError:
        raise BadFilter(parameter, text,
                        "is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM, UTC)") from None
    except OverflowError:  # 9999-12-31 as "to", or a time zone that leaves year 1..9999
        value = None
    if value is None or not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadFilter(parameter, text, f"is not between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


_PARSERS = {
    "state": _state,
    "type": _text(MAX_TYPE_CODE_LENGTH),
    "relation": _text(MAX_RELATION_ID_LENGTH),
    "store": _store,
    "source": _text(MAX_SOURCE_ID_LENGTH),
    "from": _time,
    "to": _time,
    "q": _text(MAX_SEARCH_LENGTH),
}


def _is_midnight(value: datetime) -> bool:
    return (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)


def _show(value: object) -> str:
    if isinstance(value, datetime):
        if _is_midnight(value + timedelta(microseconds=1)) or _is_midnight(value):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)
