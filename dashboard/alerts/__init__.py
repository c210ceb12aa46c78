"""Failure alerts by email: every job that fails for good is reported once, in an email
sent at the end of a digest run, at most one per ``QUEUE_ALERT_INTERVAL``.

The queue core records each failure (``failure_alerts``) in the transaction that fails the
job; this package sends them, through Flask-Mail, from the digest's run listener.
"""

from __future__ import annotations

from flask import Flask

from .. import config
from ..extensions import mail
from .cli import alerts_group
from .models import AlertChannel
from .sending import after_digest_run, send_failure_alerts
from .throttle import AlertStatus, alert_status

__all__ = [
    "AlertChannel",
    "AlertStatus",
    "after_digest_run",
    "alert_status",
    "init_app",
    "send_failure_alerts",
]


def init_app(app: Flask) -> None:
    """Check the mail settings (ConfigError at start-up), bind Flask-Mail, add the CLI."""
    recipients = app.config.get("QUEUE_ALERT_TO") or []
    app.config["QUEUE_ALERT_TO"] = config.addresses(recipients)
    config.check_mail_settings(app.config)
    mail.init_app(app)
    app.cli.add_command(alerts_group)
