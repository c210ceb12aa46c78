"""The emails, rendered from ``templates/email/*.txt|html``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, render_template

from .failures import Listing

if TYPE_CHECKING:
    from ..app.mail import Message


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _message(template: str, subject: str, **context: Any) -> Message:
    from ..app.mail import Message  # the mail extra (cli.alerts checks it is installed)

    base = current_app.config.get("DASHBOARD_URL") or ""
    context.update(
        dashboard_url=base,
        job_url=lambda job_id: f"{base}/jobs/{job_id}",
        list_url=lambda state: f"{base}/jobs?state={state}",
        plural=_plural,
    )
    return Message(
        subject=subject,
        recipients=list(current_app.config["QUEUE_ALERT_TO"]),
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
    )


def failure_alert(listing: Listing) -> Message:
    """The digest's alert: the jobs that failed for good since the last one."""
    subject = f"AsyncQueue: {_plural(listing.total, 'job')} failed"
    return _message("failures", subject, listing=listing)


def summary(listing: Listing, counts: dict[str, int], now: datetime) -> Message:
    """The weekly summary of every failed and retrying job."""
    subject = (f"AsyncQueue summary: {counts['failed']} failed, "
               f"{counts['retrying']} retrying")
    return _message("summary", subject, listing=listing, counts=counts, now=now)


def test_message(now: datetime) -> Message:
    """A message that only proves the mail settings work."""
    return _message("test", "AsyncQueue: test message", now=now)
