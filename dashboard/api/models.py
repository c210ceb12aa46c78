"""API tokens: a name, a role and the SHA-256 of the secret (never the secret itself)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..queue.models import TABLE_ARGS, Base, UTCDateTime, utcnow

#: "token:" + the name is the audit log's actor, at most 80 characters.
MAX_TOKEN_NAME_LENGTH = 64


class TokenRole(enum.StrEnum):
    #: May only enqueue jobs (POST /api/v1/jobs): for the applications that feed the queue.
    ENQUEUE = "enqueue"
    #: May read jobs, their requests and attempts.
    VIEWER = "viewer"
    #: May read, enqueue, and retry, pause, resume, cancel or run jobs.
    OPERATOR = "operator"


#: What each role may do: ``read`` (GET), ``enqueue`` (POST /jobs), ``act`` (the actions).
PERMISSIONS: dict[TokenRole, frozenset[str]] = {
    TokenRole.ENQUEUE: frozenset({"enqueue"}),
    TokenRole.VIEWER: frozenset({"read"}),
    TokenRole.OPERATOR: frozenset({"read", "enqueue", "act"}),
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

    __table_args__ = (TABLE_ARGS,)

    @property
    def actor(self) -> str:
        """The token's name in the audit log."""
        return f"token:{self.name}"

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[TokenRole(self.role)]

    def __repr__(self) -> str:
        return f"<ApiToken {self.name} {self.role}>"
