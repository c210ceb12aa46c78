"""One alert email per interval, from whichever digest gets there first.

The throttle is a row per kind of email (``alert_channels``), shared by every digest
process and host. A digest may send only after it wins a compare-and-set on that row: the
interval has passed and no other digest holds an unexpired claim. The claim is given back,
with the outcome, once the mail server has answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import changed_rows
from ..queue.database import begin_for_write
from .failures import waiting
from .models import AlertChannel

FAILURES = "failures"
channels = AlertChannel.__table__


@dataclass(frozen=True)
class AlertStatus:
    """What the overview shows about failure alerts."""

    last_sent_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    #: Failures recorded and not yet in an accepted email.
    pending: int


def alert_status(session: Session) -> AlertStatus:
    """When the last failure alert went out, the last send error (if any), what waits."""
    row = session.execute(
        sa.select(channels.c.last_sent_at, channels.c.last_error, channels.c.last_error_at)
        .where(channels.c.name == FAILURES)
    ).one_or_none()
    pending = waiting(session)
    if row is None:
        return AlertStatus(None, None, None, pending)
    return AlertStatus(row.last_sent_at, row.last_error, row.last_error_at, pending)


def claim(session: Session, name: str, worker: str, *, now: datetime, interval: float,
          hold: float) -> bool:
    """Take the right to send one email of ``name`` now; False if it is not this digest's
    turn (sent less than ``interval`` seconds ago, or another digest is sending)."""
    _ensure(session, name)
    try:
        begin_for_write(session)
        won = changed_rows(session.execute(
            sa.update(channels)
            .where(
                channels.c.name == name,
                sa.or_(channels.c.last_sent_at.is_(None),
                       channels.c.last_sent_at <= now - timedelta(seconds=interval)),
                sa.or_(channels.c.claimed_until.is_(None), channels.c.claimed_until < now),
            )
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=hold))
        )) == 1
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return won


def sent(session: Session, name: str, worker: str, *, now: datetime) -> None:
    """The mail server accepted the email: the interval starts again. In the caller's
    transaction (it marks the alerts sent in the same one)."""
    session.execute(_release(name, worker).values(
        last_sent_at=now, last_error=None, last_error_at=None))


def failed(session: Session, name: str, worker: str, *, now: datetime, error: str) -> None:
    """The email did not go: say why, and let the next run try again."""
    _commit(session, _release(name, worker).values(last_error=error, last_error_at=now))


def give_back(session: Session, name: str, worker: str) -> None:
    """Nothing was sent after all: the next digest may send at once."""
    _commit(session, _release(name, worker))


def _commit(session: Session, statement: sa.Update) -> None:
    try:
        session.execute(statement)
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _release(name: str, worker: str) -> sa.Update:
    return (sa.update(channels)
            .where(channels.c.name == name, channels.c.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None))


def _ensure(session: Session, name: str) -> None:
    """The channel's row exists (made on first use; two digests may race to make it)."""
    try:
        exists = session.scalar(sa.select(channels.c.name).where(channels.c.name == name))
        session.commit()
        if exists is None:
            session.execute(sa.insert(channels).values(name=name))
            session.commit()
    except IntegrityError:
        session.rollback()
    except BaseException:
        session.rollback()
        raise
