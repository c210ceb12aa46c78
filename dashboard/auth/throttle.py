"""Failed logins slow down guessing, counted in the database so that every gunicorn worker
(and every host behind one balancer) sees the same count.

Two limits, checked before the password:

- per account, whatever the address: after ``FREE_TRIES`` failures, each further try
  waits, twice as long each time, up to ``MAX_WAIT``. Guessing from many addresses gains
  nothing; the account's owner waits at most ``MAX_WAIT`` for a try of their own.
- per address: failures on at most ``PER_ADDRESS`` different accounts. This catches one
  address trying a few passwords on many accounts, yet many failures on one account (or
  every user behind one proxy) never lock the other accounts out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.database.write_lock import writing
from .models import MAX_NAME_LENGTH, LoginFailure

#: Failures older than this no longer count (and are deleted).
WINDOW = timedelta(hours=24)
#: Failures an account may have before its next try must wait.
FREE_TRIES = 5
#: The wait after the first failure beyond the free ones; it doubles with each further one.
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
#: Accounts one address may fail to log in to within ADDRESS_WINDOW.
PER_ADDRESS = 10
ADDRESS_WINDOW = timedelta(minutes=15)
#: Longest stored address (an IPv6 address with a zone fits).
MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class Refusal:
    """A try refused before its password is checked: for how long, and which limit."""

    wait: timedelta
    #: "account" or "address".
    limit: str

    def message(self, name: str, address: str) -> str:
        minutes = max(1, round(self.wait.total_seconds() / 60))
        later = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        if self.limit == "account":
            return f"Too many failed logins for {name or 'this name'}. {later}"
        return f"Too many failed logins from {address}. {later}"


def account_wait(failures: int, last: datetime | None, now: datetime) -> timedelta | None:
    """How long an account with ``failures`` recent failures, the last at ``last``, waits."""
    if last is None or failures < FREE_TRIES:
        return None
    doublings = min(failures - FREE_TRIES, 16)  # 30 s x 2^16 is far past MAX_WAIT already
    wait = min(FIRST_WAIT * 2 ** doublings, MAX_WAIT)
    left = last + wait - now
    return left if left > timedelta(0) else None


def wait_needed(session: Session, name: str, address: str, now: datetime) -> Refusal | None:
    """Why this try must wait (and how long), or None."""
    count, last = session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginFailure.failed_at))
        .where(LoginFailure.name == _name(name), LoginFailure.failed_at > now - WINDOW)).one()
    wait = account_wait(count, last, now)
    if wait is not None:
        return Refusal(wait, "account")
    return _address_refusal(session, address, now)


def _address_refusal(session: Session, address: str, now: datetime) -> Refusal | None:
    since = now - ADDRESS_WINDOW
    first_failures = list(session.scalars(
        sa.select(sa.func.min(LoginFailure.failed_at))
        .where(LoginFailure.address == _address(address), LoginFailure.failed_at > since)
        .group_by(LoginFailure.name)))
    if len(first_failures) < PER_ADDRESS:
        return None
    # The address may try again once enough accounts' failures have left the window.
    first_failures.sort(reverse=True)
    return Refusal(first_failures[PER_ADDRESS - 1] + ADDRESS_WINDOW - now, "address")


def record_failure(session: Session, name: str, address: str, now: datetime) -> None:
    """Count a try as failed (the caller commits). Logins record it before checking the
    password, so that parallel guesses can't all pass the check first."""
    session.add(LoginFailure(name=_name(name), address=_address(address), failed_at=now))


def forget_old(session: Session, now: datetime) -> None:
    """Forget what no longer counts, so the table stays small: in a transaction of its own,
    after the failure is counted, and best effort. In the same transaction as the insert,
    two failed logins at once deadlocked on MariaDB (each delete waits for the row the
    other inserted)."""
    try:
        with writing(session):
            session.execute(sa.delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    except sa.exc.OperationalError:
        return  # rolled back (writing); the next failure cleans up


def forget_failures(session: Session, name: str) -> None:
    """A successful login: the account's failures stop counting (the caller commits)."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.name == _name(name)))


def _name(name: str) -> str:
    return name[:MAX_NAME_LENGTH]


def _address(address: str) -> str:
    return address[:MAX_ADDRESS_LENGTH]
