"""API tokens: a name, a role and the SHA-256 of the secret (never the secret itself)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import TABLE_ARGS, Base, UTCDateTime, utcnow
from ..queue.jobs.builder import MAX_SOURCE_ID_LENGTH

#: "token:" + the name is the audit log's actor, at most 80 characters.
MAX_TOKEN_NAME_LENGTH = 64


class TokenRole(enum.StrEnum):
    #: May only enqueue jobs (POST /api/v1/jobs): for the applications that feed the queue.
    ENQUEUE = "enqueue"
    #: May read jobs, their requests and attempts.
    VIEWER = "viewer"
    #: May read, enqueue, and retry, pause, resume, cancel or run jobs.
    OPERATOR = "operator"
    #: Also deletes finished jobs (DELETE /api/v1/jobs/{id}).
    ADMIN = "admin"


#: What each role may do: ``read`` (GET), ``enqueue`` (POST /jobs), ``act`` (the actions),
#: ``delete`` (DELETE /jobs/{id}).
PERMISSIONS: dict[TokenRole, frozenset[str]] = {
    TokenRole.ENQUEUE: frozenset({"enqueue"}),
    TokenRole.VIEWER: frozenset({"read"}),
    TokenRole.OPERATOR: frozenset({"read", "enqueue", "act"}),
    TokenRole.ADMIN: frozenset({"read", "enqueue", "act", "delete"}),
}


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique for good, revoked tokens included: "token:NAME" in the audit log is one token.
    name: Mapped[str] = mapped_column(sa.String(MAX_TOKEN_NAME_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    #: Hex SHA-256 of the whole token: a stolen database yields no usable token.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Updated at most once a minute (see tokens.USE_RESOLUTION).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The sources (``source_id``) the token is limited to; none: every source.
    scope: Mapped[list[ApiTokenSource]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ApiTokenSource.source_id")

    __table_args__ = (TABLE_ARGS,)

    @property
    def sources(self) -> tuple[str, ...] | None:
        """The sources this token may enqueue for, read and act on; None: all of them."""
        return tuple(s.source_id for s in self.scope) or None

    def __repr__(self) -> str:
        return f"<ApiToken {self.name} {self.role}>"


class ApiTokenSource(Base):
    """One source a scoped token is limited to."""

    __tablename__ = "api_token_sources"

    token_id: Mapped[int] = mapped_column(
        sa.ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[str] = mapped_column(sa.String(MAX_SOURCE_ID_LENGTH), primary_key=True)

    __table_args__ = (TABLE_ARGS,)
