"""Dashboard users and failed logins."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import TABLE_ARGS, Base, UTCDateTime, utcnow

MAX_NAME_LENGTH = 80
MIN_PASSWORD_LENGTH = 8


class Role(enum.StrEnum):
    #: Sees every page; can't change anything.
    VIEWER = "viewer"
    #: Also retries, pauses, resumes, runs and cancels jobs.
    OPERATOR = "operator"
    #: Also manages users.
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    #: What the session cookie names the user by; a new one logs out every session.
    login_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (TABLE_ARGS,)

    # Flask-Login's user interface.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.login_id

    @property
    def rank(self) -> Role:
        return Role(self.role)

    def can(self, needed: Role) -> bool:
        return self.rank.allows(needed)

    def set_password(self, password: str) -> None:
        check_password(password)
        self.password_hash = generate_password_hash(password)
        self.login_id = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.name} {self.role}>"


#: Marks the audit log's actors that are not users: ``token:NAME`` (an API token) and
#: ``cli:USER`` (a shell command). No user name holds it, so no user can pass for them.
ACTOR_KIND_SEPARATOR = ":"


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() for c in name):
        raise ValueError(f"a user name is 1 to {MAX_NAME_LENGTH} characters, without spaces")
    if ACTOR_KIND_SEPARATOR in name or not name.isprintable():
        raise ValueError(f"a user name can't hold {ACTOR_KIND_SEPARATOR!r} or control "
                         "characters (the audit log writes API tokens as token:NAME and "
                         "commands as cli:USER)")
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValueError(
            f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}") from None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")


def new_user(name: str, role: str, password: str) -> User:
    """A user ready to add to the session; ValueError says what is wrong with the input."""
    user = User(name=check_name(name), role=check_role(role).value)
    user.set_password(password)
    return user


class LoginSession(Base):
    """A signed-in browser. Its cookie holds a random key; the database keeps only the key's
    SHA-256, so that logging out (deleting the row) ends the session for every copy of the
    cookie."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: The absolute expiry counts from here (DASHBOARD_SESSION_HOURS).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The idle expiry counts from here; written at most once a minute.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_login_sessions_user_id", "user_id"),
        sa.Index("ix_login_sessions_created_at", "created_at"),
        TABLE_ARGS,
    )


class LoginFailure(Base):
    """One failed login: counted per user name (whatever the address) and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME_LENGTH))
    address: Mapped[str] = mapped_column(sa.String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_login_failures_address", "address", "failed_at"),
        sa.Index("ix_login_failures_name", "name", "failed_at"),
        TABLE_ARGS,
    )
