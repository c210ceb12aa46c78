"""Login attempts are limited per user name and address, in the database, so that every
gunicorn worker (and every host behind one balancer) sees the same count."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import LoginFailure

WINDOW = timedelta(minutes=15)
#: Failed logins for one name from one address within the window.
PER_NAME = 5
#: Failed logins from one address, whatever the names, within the window.
PER_ADDRESS = 30


def wait_needed(session: Session, name: str, address: str, now: datetime) -> timedelta | None:
    """How long this name and address must wait before trying again, or None."""
    since = now - WINDOW
    for where, limit in (
        ((LoginFailure.name == name, LoginFailure.address == address), PER_NAME),
        ((LoginFailure.address == address,), PER_ADDRESS),
    ):
        recent = sa.select(LoginFailure.failed_at).where(*where, LoginFailure.failed_at > since)
        times = list(session.scalars(recent.order_by(LoginFailure.failed_at.desc()).limit(limit)))
        if len(times) >= limit:
            return times[-1] + WINDOW - now
    return None


def record_failure(session: Session, name: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(name=name[:80], address=address[:64], failed_at=now))
    session.commit()  # counted first, whatever becomes of the clean-up
    _forget_old(session, now)


def _forget_old(session: Session, now: datetime) -> None:
    """Forget what no longer counts, so the table stays small: in a transaction of its own,
    and best effort. In the same transaction as the insert, two failed logins at once
    deadlocked on MariaDB (each delete waits for the row the other inserted)."""
    try:
        session.execute(sa.delete(LoginFailure).where(LoginFailure.failed_at < now - WINDOW))
        session.commit()
    except sa.exc.OperationalError:
        session.rollback()  # the next failure cleans up


def forget_failures(session: Session, name: str, address: str) -> None:
    session.execute(sa.delete(LoginFailure).where(
        LoginFailure.name == name, LoginFailure.address == address))
    session.commit()
