"""Pausing a request type, or a connector: no digest starts a job that still has a request
of a paused type, until the type is resumed. Jobs enqueued meanwhile wait too.

A pause is a row of ``paused_types``, read by the claims of every digest on every host (see
``held``): a job whose unfinished requests include one of a paused type is not due, so
a claim passes over it as over a blocked one, and the order of its relation holds (its
later jobs wait behind it). Pausing a connector pauses the types that use it, as this
installation defines them when the pause is made; its own row says so, and resuming the
connector resumes them together.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...db import TABLE_ARGS, Base, UTCDateTime, changed_rows
from ..database.engine_setup import is_postgresql
from ..database.wakeup import CHANNEL
from ..jobs.models import Request
from ..jobs.states import RequestState
from ..jobs.types import MAX_CONNECTOR_NAME_LENGTH, MAX_TYPE_CODE_LENGTH, registry
from .per_job import rows_of_jobs


class PausedType(Base):
    """A request type no digest starts now, and who paused it."""

    __tablename__ = "paused_types"

    type_code: Mapped[str] = mapped_column(sa.String(MAX_TYPE_CODE_LENGTH), primary_key=True)
    #: The connector whose pause paused this type; None: paused on its own.
    connector: Mapped[str | None] = mapped_column(sa.String(MAX_CONNECTOR_NAME_LENGTH))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_by: Mapped[str] = mapped_column(sa.String(200))

    __table_args__ = (TABLE_ARGS,)


paused_types = PausedType.__table__

#: The requests of a job that have still to run: a paused type among them holds the job.
UNFINISHED_REQUEST_STATES = (RequestState.PENDING, RequestState.RETRYING,
                             RequestState.RUNNING)


def held(job: sa.FromClause) -> sa.ColumnElement[bool]:
    """``job`` has a request still to run whose type is paused.

    Guarded by an uncorrelated test that any type is paused, which every database runs
    once per statement: with no pause, a claim probes nothing more than before."""
    requests = Request.__table__
    return sa.and_(
        sa.exists().where(paused_types.c.type_code.is_not(None)),
        sa.exists().where(
            requests.c.job_id == job.c.id,
            requests.c.state.in_([s.value for s in UNFINISHED_REQUEST_STATES]),
            requests.c.type_code == paused_types.c.type_code,
        ),
    )


class PauseRefused(ValueError):
    """The pause or resume can't be made; the message says why."""


@dataclass(frozen=True)
class Paused:
    type_code: str
    connector: str | None
    paused_at: datetime
    paused_by: str


def listed(conn: sa.Connection | sa.orm.Session) -> list[Paused]:
    """Every paused type, by type code."""
    rows = conn.execute(sa.select(paused_types).order_by(paused_types.c.type_code))
    return [Paused(row.type_code, row.connector, row.paused_at, row.paused_by) for row in rows]


def type_codes(conn: sa.Connection | sa.orm.Session) -> set[str]:
    """The type codes paused now."""
    return set(conn.scalars(sa.select(paused_types.c.type_code)))


def holding(conn: sa.Connection | sa.orm.Session, job_ids: list[int]) -> dict[int, str]:
    """For each of ``job_ids`` held by a paused type: that type (its first request still to
    run of a paused type). One query, for a page of jobs."""
    if not job_ids:
        return {}
    requests = Request.__table__
    rows = conn.execute(rows_of_jobs(conn, job_ids, lambda match: sa.select(
        requests.c.job_id, requests.c.type_code, requests.c.position,
    ).join(paused_types, paused_types.c.type_code == requests.c.type_code)
     .where(match(requests.c.job_id),
            requests.c.state.in_([s.value for s in UNFINISHED_REQUEST_STATES])),
        order_by=("job_id", "position")))
    found: dict[int, str] = {}
    for job_id, type_code, _ in rows:
        found.setdefault(job_id, type_code)
    return found


def connector_types(name: str) -> list[str]:
    """The type codes of this installation whose connector is ``name``."""
    return sorted(code for code in registry.codes() if registry.get(code).connector.name == name)


def pause_type(conn: sa.Connection | sa.orm.Session, type_code: str, *, by: str,
               now: datetime) -> bool:
    """Pause one type; False when it was paused already (nothing changes). The caller
    commits."""
    if type_code not in registry:
        raise PauseRefused(f"no request type has the code {type_code!r}")
    return bool(_pause(conn, [type_code], None, by=by, now=now))


def pause_connector(conn: sa.Connection | sa.orm.Session, name: str, *, by: str,
                    now: datetime) -> list[str]:
    """Pause every type that uses connector ``name``; the types it paused (those paused
    already stay as they were)."""
    codes = connector_types(name)
    if not codes:
        raise PauseRefused(f"no request type uses a connector named {name!r}")
    return _pause(conn, codes, name, by=by, now=now)


def _pause(conn: sa.Connection | sa.orm.Session, codes: list[str], connector: str | None,
           *, by: str, now: datetime) -> list[str]:
    """Pause those of ``codes`` not paused already; the ones it paused."""
    paused = type_codes(conn)
    fresh = [code for code in codes if code not in paused]
    if fresh:
        conn.execute(sa.insert(paused_types), [
            {"type_code": code, "connector": connector, "paused_at": now, "paused_by": by}
            for code in fresh])
    return fresh


def resume_type(conn: sa.Connection | sa.orm.Session, type_code: str) -> bool:
    """Resume one type; False when it was not paused."""
    result = conn.execute(sa.delete(paused_types).where(paused_types.c.type_code == type_code))
    if changed_rows(result) == 0:
        return False
    _wake_workers(conn)
    return True


def resume_connector(conn: sa.Connection | sa.orm.Session, name: str) -> list[str]:
    """Resume the types that connector ``name``'s pause paused; the types resumed."""
    codes = sorted(conn.scalars(sa.select(paused_types.c.type_code)
                                .where(paused_types.c.connector == name)))
    if codes:
        conn.execute(sa.delete(paused_types).where(paused_types.c.connector == name))
        _wake_workers(conn)
    return codes


def _wake_workers(conn: sa.Connection | sa.orm.Session) -> None:
    """PostgreSQL: wake the --loop workers on commit (see wakeup.py), as a save does: the
    jobs a resume lets go are due now. Elsewhere the workers poll."""
    bind = conn if isinstance(conn, sa.Connection) else conn.get_bind()
    if is_postgresql(bind):
        conn.execute(sa.text(f"NOTIFY {CHANNEL}"))


class PausedNow:
    """The paused type codes as a digest's threads see them, read again at most once a
    ``ttl`` (a job that reaches its next request asks; a claim reads them itself).

    ``read(work)`` runs ``work(conn)`` on one of the digest's connections, waiting out a
    database that refuses or lost it, as every step does (connections.py)."""

    def __init__(self, read: Callable[[Callable[[sa.Connection], frozenset[str]]],
                                      frozenset[str]],
                 ttl: float = 1.0) -> None:
        self._read = read
        self._ttl = ttl
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._codes: frozenset[str] = frozenset()

    def __contains__(self, type_code: object) -> bool:
        with self._lock:
            if time.monotonic() - self._read_at >= self._ttl:
                self._codes = self._read(_read_codes)
                self._read_at = time.monotonic()
            return type_code in self._codes


def _read_codes(conn: sa.Connection) -> frozenset[str]:
    codes = frozenset(type_codes(conn))
    conn.rollback()
    return codes
