"""The alert emails' shared state, one row per kind of email, so that every digest process
on every host honours one throttle and sees the last error."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import TABLE_ARGS, Base, UTCDateTime


class AlertChannel(Base):
    __tablename__ = "alert_channels"

    #: "failures": the digest's failure alerts.
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    #: When the mail server last accepted one of its emails.
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the last attempt failed; NULL once an email goes through.
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The digest sending right now, and until when its claim holds.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (TABLE_ARGS,)
