"""Failure alerts by email: every job that fails for good is reported once, in an email
sent at the end of a digest run, at most one per ``QUEUE_ALERT_INTERVAL``.

The queue core records each failure (``failure_alerts``) in the transaction that fails the
job; this package sends them, through Flask-Mail, from the digest's run listener.
"""

from __future__ import annotations

import importlib.util
import logging

from flask import Flask

from ..app import config
from .models import AlertChannel
from .sending import after_digest_run, send_failure_alerts
from .throttle import AlertStatus, alert_status

log = logging.getLogger("dashboard.alerts")

__all__ = [
    "AlertChannel",
    "AlertStatus",
    "after_digest_run",
    "alert_status",
    "init_app",
    "send_failure_alerts",
]


def init_app(app: Flask) -> None:
    """Check the mail settings (ConfigError at start-up), bind Flask-Mail."""
    recipients = app.config.get("QUEUE_ALERT_TO") or []
    app.config["QUEUE_ALERT_TO"] = config.addresses(recipients)
    config.check_mail_settings(app.config)
    warn_of_clear_text_login(app.config)
    # With recipients the settings checked that Flask-Mail is installed; without, it is
    # bound where installed all the same, for `alerts summary --dry-run` and `alerts test`.
    if recipients or importlib.util.find_spec("flask_mail") is not None:
        from ..app.mail import mail
        mail.init_app(app)


def warn_of_clear_text_login(settings: dict) -> None:
    """An SMTP login without TLS, or over TLS to whoever answers, works: say it at start."""
    if not (settings.get("MAIL_USERNAME") and settings.get("MAIL_PASSWORD")):
        return
    if not (settings.get("MAIL_USE_TLS") or settings.get("MAIL_USE_SSL")):
        log.warning("MAIL_USERNAME and MAIL_PASSWORD are set but neither MAIL_USE_TLS nor "
                    "MAIL_USE_SSL is on: the SMTP login travels in clear")
    elif not settings.get("MAIL_TLS_VERIFY", True):
        log.warning("MAIL_TLS_VERIFY is off: the SMTP login goes to whichever server answers, "
                    "its certificate unchecked")
