"""Recurring schedules: jobs enqueued on a cron schedule, from a TOML file (QUEUE_SCHEDULE).

```toml
[[schedule]]
name = "nightly-reconcile"
cron = "0 3 * * *"
relation_id = "reconcile"
requests = [{type_code = "reconcile", payload = {"scope" = "all"}}]
```

Each digest run enqueues the occurrences that have fallen due (:func:`enqueue_due`). An
occurrence is a *slot*, the time the cron expression names; its job carries the entry's
name and the slot, and a unique index over the two (kept for good, not only while the job
is active) lets exactly one job be made for a slot, however many digests on however many
hosts see it due at once: the others' inserts fail, and they move on.

An entry starts at the first run that sees it: occurrences before that are not enqueued.
After downtime only the latest missed occurrence is, unless the entry sets
``catch_up = true`` (then every missed one, oldest first, at most
:data:`MAX_CATCH_UP` a run).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import CroniterError, croniter
from sqlalchemy.orm import Mapped, Session, mapped_column

from ...db import TABLE_ARGS, Base, UTCDateTime
from ..database.write_lock import begin_for_write
from ..jobs.builder import JobBuilder, validate_relation_id, validate_source_id, validate_store_id
from ..jobs.models import Job
from ..store.repository import JobRepository


class ScheduleState(Base):
    """A recurring schedule's entry as the digests know it: since when, and its latest
    slot enqueued (kept when its jobs are pruned)."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    last_slot: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Switched off by an operator: the entry makes no jobs (migration 0017).
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                           server_default=sa.false())
    #: What its last run raised, and when; NULL once a run goes through.
    error: Mapped[str | None] = mapped_column(sa.String(1000))
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (TABLE_ARGS,)


log = logging.getLogger("dashboard.schedule")

MAX_NAME_LENGTH = 100
#: Missed occurrences a ``catch_up`` entry enqueues in one run; the rest come next run.
MAX_CATCH_UP = 100
_ENTRY_KEYS = frozenset({"name", "cron", "timezone", "relation_id", "store_id", "source_id",
                         "requests", "catch_up"})
_REQUEST_KEYS = frozenset({"type_code", "payload"})


#: An entry's next 2 slots must each come within this many years of the one before
#: (29 February does), else it is refused at start.
OCCURS_WITHIN_YEARS = 5


def upcoming(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """Up to ``count`` slots of ``cron`` after ``after`` (UTC), each within
    OCCURS_WITHIN_YEARS of the one before: fewer, or none, for an expression that names no
    such time (30 February)."""
    found: list[datetime] = []
    try:
        times = croniter(cron, after.astimezone(ZoneInfo(timezone)),
                         max_years_between_matches=OCCURS_WITHIN_YEARS)
        while len(found) < count:
            found.append(times.get_next(datetime).astimezone(UTC))
    except (CroniterError, ValueError, OverflowError):
        pass
    return found


class ScheduleError(ValueError):
    """A schedule file that can't be used; the message names the entry and the field."""


@dataclass(frozen=True)
class ScheduledRequest:
    type_code: str
    payload: Any


@dataclass(frozen=True)
class Entry:
    """One ``[[schedule]]`` of the file."""

    name: str
    cron: str
    requests: tuple[ScheduledRequest, ...]
    relation_id: str | None = None
    store_id: int | None = None
    source_id: str = "schedule"
    timezone: str = "UTC"
    catch_up: bool = False

    def latest(self, until: datetime) -> datetime:
        """The last slot at or before ``until`` (UTC)."""
        zone = ZoneInfo(self.timezone)
        local = until.astimezone(zone)
        # croniter's get_prev is strictly before its start: a slot that is exactly now counts.
        slot = croniter(self.cron, local).get_prev(datetime)
        following = croniter(self.cron, slot).get_next(datetime)
        if following <= local:
            slot = following
        return slot.astimezone(UTC)

    def following(self, after: datetime) -> Iterator[datetime]:
        """The slots strictly after ``after`` (UTC), in order."""
        times = croniter(self.cron, after.astimezone(ZoneInfo(self.timezone)))
        while True:
            yield times.get_next(datetime).astimezone(UTC)

    def due(self, last: datetime, now: datetime) -> list[datetime]:
        """The slots after ``last`` up to ``now`` that this run enqueues."""
        if not self.catch_up:
            latest = self.latest(now)
            return [latest] if latest > last else []
        slots: list[datetime] = []
        for slot in self.following(last):
            if slot > now or len(slots) == MAX_CATCH_UP:
                break
            slots.append(slot)
        return slots

    def build(self, slot: datetime | None) -> Job:
        """The slot's job (None: one enqueued by hand, outside the slots)."""
        job = (JobBuilder().set_relation_id(self.relation_id).set_store_id(self.store_id)
               .set_source_id(self.source_id).create())
        for request in self.requests:
            (job.request_builder().set_type_code(request.type_code)
             .set_payload(request.payload).create())
        job.schedule_name, job.schedule_slot = self.name, slot
        return job


# -- the file ------------------------------------------------------------------------

def load(path: str | Path, known_type: Callable[[str], bool]) -> tuple[Entry, ...]:
    """Read and check a schedule file; ScheduleError names what is wrong and where."""
    where = f"QUEUE_SCHEDULE {path}"
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ScheduleError(f"{where}: can't read it: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScheduleError(f"{where}: not valid TOML: {error}") from None
    return parse(document, known_type, where)


def parse(document: dict[str, Any], known_type: Callable[[str], bool],
          where: str = "QUEUE_SCHEDULE") -> tuple[Entry, ...]:
    unknown = set(document) - {"schedule"}
    if unknown:
        raise ScheduleError(f"{where}: unknown table {sorted(unknown)[0]!r}; entries are "
                            "[[schedule]] tables")
    raw_entries = document.get("schedule", [])
    if not isinstance(raw_entries, list):
        raise ScheduleError(f"{where}: 'schedule' must be an array of tables ([[schedule]])")
    entries: list[Entry] = []
    for number, raw in enumerate(raw_entries, 1):
        entry = _entry(raw, known_type, f"{where}: schedule entry {number}")
        if any(other.name == entry.name for other in entries):
            raise ScheduleError(f"{where}: schedule entry {number} ({entry.name!r}): name: "
                                "another entry has this name already")
        entries.append(entry)
    return tuple(entries)


def _entry(raw: object, known_type: Callable[[str], bool], where: str) -> Entry:
    if not isinstance(raw, dict):
        raise ScheduleError(f"{where}: must be a table")
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where} ({name!r})"

    def fail(field: str, message: str) -> ScheduleError:
        return ScheduleError(f"{where}: {field}: {message}")

    for key in sorted(set(raw) - _ENTRY_KEYS):
        raise fail(key, f"unknown field (known: {', '.join(sorted(_ENTRY_KEYS))})")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise fail("name", f"required, a string of 1 to {MAX_NAME_LENGTH} characters")
    cron = raw.get("cron")
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise fail("cron", f"{cron!r} is not a cron expression of 5 fields, e.g. '0 3 * * *'")
    timezone = raw.get("timezone", "UTC")
    try:
        if not isinstance(timezone, str):
            raise ValueError
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise fail("timezone", f"{timezone!r} is not a time zone name, e.g. 'Europe/Paris'"
                   ) from None
    if len(upcoming(cron, timezone, datetime.now(UTC), 2)) < 2:
        raise fail("cron", f"{cron!r} names no time to run within {OCCURS_WITHIN_YEARS} "
                   "years (like 30 February)")
    catch_up = raw.get("catch_up", False)
    if not isinstance(catch_up, bool):
        raise fail("catch_up", "must be true or false")
    job: dict[str, Any] = {}
    for field, check in (("relation_id", validate_relation_id),
                         ("store_id", validate_store_id), ("source_id", validate_source_id)):
        if field in raw:
            try:
                job[field] = check(raw[field])
            except ValueError as error:
                raise fail(field, str(error)) from None
    requests = raw.get("requests")
    if not isinstance(requests, list) or not requests:
        raise fail("requests", "required, a non-empty array of {type_code, payload} tables")
    return Entry(name=name, cron=cron, timezone=timezone, catch_up=catch_up, **job,
                 requests=tuple(_request(each, known_type, fail, k)
                                for k, each in enumerate(requests)))


def _request(raw: object, known_type: Callable[[str], bool],
             fail: Callable[[str, str], ScheduleError], k: int) -> ScheduledRequest:
    field = f"requests[{k}]"
    if not isinstance(raw, dict):
        raise fail(field, "must be a table {type_code = ..., payload = {...}}")
    for key in sorted(set(raw) - _REQUEST_KEYS):
        raise fail(f"{field}.{key}", "unknown field (known: payload, type_code)")
    type_code = raw.get("type_code")
    if not isinstance(type_code, str) or not type_code:
        raise fail(f"{field}.type_code", "required, a string")
    if not known_type(type_code):
        raise fail(f"{field}.type_code", f"unknown request type {type_code!r}")
    if "payload" not in raw:
        raise fail(f"{field}.payload", "required (use {} for none)")
    try:  # the same checks as any enqueue (size, text), with the field named
        JobBuilder().create().request_builder().set_type_code(type_code).set_payload(
            raw["payload"]).create()
    except ValueError as error:
        raise fail(f"{field}.payload", str(error)) from None
    return ScheduledRequest(type_code, raw["payload"])


# -- runs ----------------------------------------------------------------------------

def enqueue_due(session: Session, entries: Iterable[Entry], now: datetime) -> list[Job]:
    """Enqueue the occurrences of ``entries`` that have fallen due by ``now``; returns the
    jobs this call made (another digest may have made some of the slots' jobs first).
    A disabled entry makes none. An entry that raises is skipped for this run, with its
    error logged in one line and kept for the Schedules page; the others go on."""
    made: list[Job] = []
    for entry in entries:
        try:
            made += _enqueue_entry(session, entry, now)
        except Exception as error:
            session.rollback()
            reason = f"{type(error).__name__}: {one_line(error)}"
            log.error("schedule %s: skipped this run: %s", entry.name, reason)
            _keep_error(session, entry.name, reason, now)
    return made


def _enqueue_entry(session: Session, entry: Entry, now: datetime) -> list[Job]:
    state = session.get(ScheduleState, entry.name, populate_existing=True)
    last = _last_slot(session, entry, state, now)
    if last is None or (state is not None and state.disabled):
        return []
    made = []
    for slot in entry.due(last, now):
        job = _enqueue(session, entry, slot, now)
        if job is not None:
            made.append(job)
            log.info("schedule %s: enqueued job %s for %s", entry.name, job.id,
                     slot.isoformat())
        _advance(session, entry.name, slot)
    if state is not None and state.error is not None:
        _keep_error(session, entry.name, None, now)  # this run went through
    return made


def _last_slot(session: Session, entry: Entry, state: ScheduleState | None,
               now: datetime) -> datetime | None:
    """Where the entry's due slots start: its latest slot enqueued (by the jobs, or by the
    schedule's own row if those jobs were pruned), else when it was first seen. None: seen
    for the first time now."""
    newest = session.scalar(sa.select(sa.func.max(Job.schedule_slot))
                            .where(Job.schedule_name == entry.name))
    session.commit()
    if state is None:
        _write(session, lambda: session.add(ScheduleState(name=entry.name, since=now)))
        return newest  # None, unless its jobs outlived an earlier row
    return max(t for t in (state.since, state.last_slot, newest) if t is not None)


def one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else "(no message)"


def _keep_error(session: Session, name: str, reason: str | None, now: datetime) -> None:
    """Write (or clear, with None) the entry's error; never raises: the run goes on."""
    table = ScheduleState.__table__
    try:
        _write(session, lambda: session.execute(table.update().where(table.c.name == name)
                                                .values(error=reason, error_at=now)))
    except Exception:
        session.rollback()
        log.warning("schedule %s: could not keep its error", name)


def _enqueue(session: Session, entry: Entry, slot: datetime, now: datetime) -> Job | None:
    """The slot's job, or None when another digest made it first."""
    try:
        return JobRepository(session, clock=lambda: now).save(entry.build(slot))
    except sa.exc.IntegrityError:
        session.rollback()
        exists = session.scalar(sa.select(Job.id).where(Job.schedule_name == entry.name,
                                                        Job.schedule_slot == slot))
        session.commit()
        if exists is None:
            raise
        return None


def _advance(session: Session, name: str, slot: datetime) -> None:
    table = ScheduleState.__table__
    _write(session, lambda: session.execute(
        table.update().where(table.c.name == name,
                             sa.or_(table.c.last_slot.is_(None), table.c.last_slot < slot))
        .values(last_slot=slot)))


def _write(session: Session, work: Callable[[], object]) -> None:
    """One small write in a transaction of its own; a row another digest wrote first (the
    same schedule's row) is theirs to keep."""
    begin_for_write(session)
    try:
        work()
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
    except BaseException:
        session.rollback()
        raise
