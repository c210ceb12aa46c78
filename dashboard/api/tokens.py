"""Making, finding and revoking API tokens (no Flask here: the CLI and the API share it).

A token is ``aqd_`` and 43 URL-safe characters (32 random bytes): the prefix makes a
leaked one easy to spot in logs and by secret scanners. Only its SHA-256 is stored; a
request's token is hashed and looked up by that hash, then compared to it in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.database.driver_path import DriverStatement, read_alone
from ..queue.jobs.builder import validate_source_id
from .models import MAX_TOKEN_NAME_LENGTH, PERMISSIONS, ApiToken, ApiTokenSource, TokenRole

PREFIX = "aqd_"
#: last_used_at is written at most this often per token: not one write per API call.
USE_RESOLUTION = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if (not name or len(name) > MAX_TOKEN_NAME_LENGTH
            or any(c.isspace() or not c.isprintable() for c in name)):
        raise ValueError(f"a token name is 1 to {MAX_TOKEN_NAME_LENGTH} printable characters, "
                         "without spaces")
    return name


def check_role(role: str) -> TokenRole:
    try:
        return TokenRole(role)
    except ValueError:
        known = ", ".join(r.value for r in TokenRole)
        raise ValueError(f"unknown token role {role!r}: use one of {known}") from None


def named(session: Session, name: str) -> ApiToken | None:
    return session.scalar(sa.select(ApiToken).where(ApiToken.name == name))


def check_sources(sources: Iterable[str]) -> list[str]:
    """The distinct sources of a token's scope, sorted; ValueError names a bad one."""
    return sorted({validate_source_id(source) for source in sources})


def create(session: Session, name: str, role: str, *, now: datetime,
           sources: Iterable[str] = ()) -> tuple[ApiToken, str]:
    """A new token, added to the session (not committed), and its secret: shown once.

    With ``sources``, the token enqueues, sees and acts on jobs of those sources only.
    """
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=check_name(name), role=check_role(role).value,
                     token_hash=digest(secret), created_at=now,
                     scope=[ApiTokenSource(source_id=s) for s in check_sources(sources)])
    session.add(token)
    return token, secret


@dataclass(frozen=True)
class Caller:
    """A live token as an API request sees it: what it may do, and for which sources."""

    id: int
    name: str
    role: str
    #: The sources it may enqueue for, read and act on; None: all of them.
    sources: tuple[str, ...] | None
    last_used_at: datetime | None

    def allows_source(self, source_id: str) -> bool:
        return self.sources is None or source_id in self.sources

    @property
    def actor(self) -> str:
        """The token's name in the audit log."""
        return f"token:{self.name}"

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[TokenRole(self.role)]


_tokens, _sources = ApiToken.__table__, ApiTokenSource.__table__
#: A token and its scope, a row per source (one row, source NULL, for every source).
_FIND = DriverStatement(
    sa.select(_tokens.c.id, _tokens.c.name, _tokens.c.role, _tokens.c.token_hash,
              _tokens.c.last_used_at, _tokens.c.revoked_at, _sources.c.source_id)
    .outerjoin(_sources, _sources.c.token_id == _tokens.c.id)
    .where(_tokens.c.token_hash == sa.bindparam("wanted"))
    .order_by(_sources.c.source_id))


def authenticate(session: Session, secret: str) -> Caller | None:
    """The live token whose secret this is, or None (unknown, malformed or revoked).

    One statement, read as plain rows (an API call's costliest read), alone
    (driver_path.read_alone: on PostgreSQL on the driver, with no transaction). Only reads:
    the caller writes the token's use (``use_is_due``, ``mark_used``)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    wanted = digest(secret)
    rows = read_alone(session, _FIND, {"wanted": wanted})
    if not rows:
        return None
    token_id, name, role, token_hash, last_used_at, revoked_at, _ = rows[0]
    if not hmac.compare_digest(token_hash, wanted) or revoked_at is not None:
        return None
    sources = tuple(source for *_, source in rows if source is not None)
    return Caller(id=token_id, name=name, role=role, sources=sources or None,
                  last_used_at=last_used_at)


def use_is_due(token: ApiToken | Caller, now: datetime) -> bool:
    """Whether the token's ``last_used_at`` is older than USE_RESOLUTION (or unset)."""
    return token.last_used_at is None or now - token.last_used_at >= USE_RESOLUTION


def mark_used(session: Session, token_id: int, now: datetime) -> None:
    """Write the token's use, in the session's transaction."""
    session.execute(
        sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def revoke(session: Session, token: ApiToken, *, now: datetime) -> None:
    """Refuse the token from now on (the row stays, so its name stays taken)."""
    token.revoked_at = now
