"""Server-side login sessions: started at login, checked at each request, ended at logout.

The session cookie carries a random key; the database keeps only its SHA-256 (a stolen
database gives no usable cookie). A session ends when its row goes: at logout, when its
user is removed or gets a new password, and once it has been idle too long or has lived
too long, whatever the user does. No Flask here: the views and the CLI call it.

Kept rather than Flask-Session: its stores key a session by the cookie's value as sent
(a copy of the database would be a set of live cookies), hold no user to end every
session of (a new password, a removed user), and have one lifetime where we have two
(absolute and idle).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import LoginSession, User

#: last_seen_at is written at most this often per session: not one write per page.
SEEN_RESOLUTION = timedelta(minutes=1)
#: A longer cookie value is no key of ours: refused without a lookup.
MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class Lifetime:
    #: From login, whatever the activity (DASHBOARD_SESSION_HOURS).
    absolute: timedelta
    #: From the last request (DASHBOARD_SESSION_IDLE_MINUTES).
    idle: timedelta

    def __post_init__(self) -> None:
        if self.absolute <= timedelta(0) or self.idle <= timedelta(0):
            raise ValueError("a session's lifetimes must be positive")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def start(session: Session, user: User, *, now: datetime) -> str:
    """A new session for ``user``, added (not committed); returns the key for the cookie."""
    key = secrets.token_urlsafe(32)
    session.add(LoginSession(key_hash=_hash(key), user_id=user.id, created_at=now,
                             last_seen_at=now))
    return key


def find(session: Session, key: object, *, now: datetime, lifetime: Lifetime
         ) -> LoginSession | None:
    """The live session of this key, or None: unknown, ended or expired."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return None
    found = session.scalar(sa.select(LoginSession).where(LoginSession.key_hash == _hash(key)))
    if found is None or expired(found, now, lifetime):
        return None
    return found


def expired(found: LoginSession, now: datetime, lifetime: Lifetime) -> bool:
    return (now >= found.created_at + lifetime.absolute
            or now >= found.last_seen_at + lifetime.idle)


def needs_touch(found: LoginSession, now: datetime) -> bool:
    """Whether the idle expiry must be pushed back: the last write is a minute old."""
    return now - found.last_seen_at >= SEEN_RESOLUTION


def touch(session: Session, session_id: int, *, now: datetime) -> None:
    session.execute(sa.update(LoginSession).where(LoginSession.id == session_id)
                    .values(last_seen_at=now))


def end(session: Session, key: str) -> None:
    """Logout: the key stops working, in every copy of the cookie."""
    session.execute(sa.delete(LoginSession).where(LoginSession.key_hash == _hash(key)))


def end_all(session: Session, user_id: int) -> None:
    """Every session of the user ends (a new password)."""
    session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user_id))


def forget_expired(session: Session, *, now: datetime, lifetime: Lifetime) -> None:
    """Delete the rows of sessions that can no longer be used, so the table stays small."""
    session.execute(sa.delete(LoginSession).where(sa.or_(
        LoginSession.created_at <= now - lifetime.absolute,
        LoginSession.last_seen_at <= now - lifetime.idle)))
