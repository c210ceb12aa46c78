"""The job list's filters: parsed from URL parameters, refused with the wrong value named."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..queue.jobs.builder import (
    MAX_RELATION_ID_LENGTH,
    MAX_SOURCE_ID_LENGTH,
    MAX_STORE_ID,
    MIN_STORE_ID,
)
from ..queue.jobs.scheduling import MAX_PRIORITY, MIN_PRIORITY
from ..queue.jobs.states import JobState
from ..queue.jobs.types import MAX_TYPE_CODE_LENGTH
from ..queue.operations.recurring import MAX_NAME_LENGTH as MAX_SCHEDULE_NAME_LENGTH

MAX_SEARCH_LENGTH = 200
#: Three letters or digits in a row: what a search needs (a trigram the indexes hold).
TRIGRAM = re.compile(r"[^\W_]{3}")
#: A failure reason to filter by, as the Top errors panel gives it (see errors.py).
MAX_ERROR_LENGTH = 500
#: Characters of a wrong value repeated in the error message, at most.
SHOWN_VALUE = 60
#: Ids are 32-bit INTEGER columns on PostgreSQL and MariaDB.
MAX_ID = 2**31 - 1
#: MariaDB's DATETIME starts at year 1000; the queue holds no job older than 1970;
#: 9999-12-31 as "to" (its whole day) would end past year 9999.
MIN_YEAR, MAX_YEAR = 1970, 9999
#: URL parameter -> JobFilter field.
PARAMETERS = {
    "state": "state", "type": "type_code", "relation": "relation_id", "store": "store_id",
    "source": "source_id", "from": "created_from", "to": "created_to", "q": "search",
    "schedule": "schedule_name",
    "priority": "priority",
    "waiting": "waiting", "error": "error",
    "audit": "audit_entry",
}
#: The ``waiting`` filter's values: see waiting.py.
WAITING = ("due", "blocked", "scheduled")


class ShownState(enum.StrEnum):
    """States the dashboard shows besides the stored ones."""

    #: Pending, with a run-at time (or delay) still ahead.
    SCHEDULED = "scheduled"


#: What the state filter offers, in order: a scheduled job is a pending one whose time
#: has not come, so the pending filter includes it.
FILTER_STATES = (JobState.PENDING, ShownState.SCHEDULED,
                 *(s for s in JobState if s != JobState.PENDING))


class BadFilter(ValueError):
    """A filter value that can't be used; the message names the parameter and the value."""

    def __init__(self, parameter: str, value: object, reason: str) -> None:
        shown = repr(value)
        if len(shown) > SHOWN_VALUE:  # a 5,000-digit number is not repeated back whole
            shown = shown[:SHOWN_VALUE] + "..."
        super().__init__(f"{parameter}={shown}: {reason}")
        self.parameter = parameter
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class JobFilter:
    state: JobState | ShownState | None = None
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
    #: Only the jobs of this recurring schedule entry.
    schedule_name: str | None = None
    priority: int | None = None
    #: Waiting jobs: "due" (a digest may take them now), "blocked" or "scheduled".
    waiting: str | None = None
    #: Failing jobs whose reason reads so, numbers and ids aside (errors.normalise).
    error: str | None = None
    #: The jobs an operator's action changed: the id of its audit entry.
    audit_entry: int | None = None
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
    return whole_number(parameter, raw, 1, MAX_ID)


def whole_number(parameter: str, raw: object, low: int, high: int,
                 what: str = "a whole number") -> int:
    """A whole number from ``low`` to ``high`` written in ASCII digits (and a leading
    minus); BadFilter names the parameter. ``int()`` alone also takes other scripts'
    digits ("²" passes ``isdigit`` but not ``int``; "٣" passes both), "1_000" and
    " +1", and raises ValueError past 4,300 digits."""
    text = str(raw).strip()
    digits = text[1:] if text.startswith("-") else text
    # Checked before int(): a longer number is out of range anyway, and is not converted.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(max(-low, high))) \
            or not low <= int(text) <= high:
        raise BadFilter(parameter, raw, f"is not {what} from {low} to {high}")
    return int(text)


def _state(parameter: str, text: str) -> JobState | ShownState:
    for state in FILTER_STATES:
        if state.value == text.lower():
            return state
    known = ", ".join(s.value for s in FILTER_STATES)
    raise BadFilter(parameter, text, f"is not a job state (one of {known})")


def _text(limit: int):
    def parse(parameter: str, text: str) -> str:
        if len(text) > limit:
            raise BadFilter(parameter, text[:40] + "...", f"is longer than {limit} characters")
        if "\x00" in text:  # PostgreSQL refuses NUL in text; no stored value has one
            raise BadFilter(parameter, text, "contains a NUL character")
        return text
    return parse


def _search(parameter: str, text: str) -> str:
    """Text the trigram indexes can look up: one run of three letters or digits at least
    (``ab``, ``%`` or backslashes alone would read every request; see search.py)."""
    text = _text(MAX_SEARCH_LENGTH)(parameter, text)
    if not TRIGRAM.search(text):
        raise BadFilter(parameter, text, "needs 3 letters or digits in a row to search for "
                                         "(shorter words, wildcards and punctuation alone "
                                         "can't be looked up)")
    return text


def _priority(parameter: str, text: str) -> int:
    return whole_number(parameter, text, MIN_PRIORITY, MAX_PRIORITY, "a priority")
def _waiting(parameter: str, text: str) -> str:
    if text.lower() not in WAITING:
        raise BadFilter(parameter, text, f"is not one of {', '.join(WAITING)}")
    return text.lower()


def _entry(parameter: str, text: str) -> int:
    return whole_number(parameter, text, 1, MAX_ID, "an audit entry id")


def _store(parameter: str, text: str) -> int:
    return whole_number(parameter, text, MIN_STORE_ID, MAX_STORE_ID, "a store id")


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
    "q": _search,
    "schedule": _text(MAX_SCHEDULE_NAME_LENGTH),
    "priority": _priority,
    "waiting": _waiting,
    "error": _text(MAX_ERROR_LENGTH),
    "audit": _entry,
}


def _is_midnight(value: datetime) -> bool:
    return (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)


def _show(value: object) -> str:
    if isinstance(value, datetime):
        if _is_midnight(value + timedelta(microseconds=1)) or _is_midnight(value):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)
