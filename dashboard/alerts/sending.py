"""Sending the failure alerts at the end of a digest run, at most once per interval.

No transaction stays open while the mail server is talked to; the failures are marked
alerted only once it has accepted the message. A mail server that is down, refuses or
hangs costs at most ``MAIL_TIMEOUT`` seconds and a warning: the failures wait, and the
next run tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from ..app.extensions import mail
from ..app.mail import describe
from . import failures, messages, throttle

log = logging.getLogger("dashboard.alerts")

#: A claim outlives the send (bounded by MAIL_TIMEOUT) by this much, then lapses, so a
#: digest killed while sending never blocks the alerts for good.
CLAIM_SLACK = 60.0


def send_failure_alerts(session: Session, *, clock: Callable[[], datetime],
                        worker: str) -> str:
    """Send the pending failure alerts if it is time; returns what happened, in a word:
    "off", "none", "throttled", "sent" or "failed"."""
    config = current_app.config
    if not config["QUEUE_ALERT_TO"]:
        return "off"
    waiting = failures.waiting(session)
    session.commit()
    if not waiting:
        return "none"
    if not throttle.claim(session, throttle.FAILURES, worker, now=clock(),
                          interval=config["QUEUE_ALERT_INTERVAL"],
                          hold=config["MAIL_TIMEOUT"] + CLAIM_SLACK):
        return "throttled"
    try:
        listing = failures.pending(session)
        session.commit()
        if not listing.total:  # another digest's email took them meanwhile
            throttle.give_back(session, throttle.FAILURES, worker)
            return "none"
        mail.send(messages.failure_alert(listing))
    except Exception as error:
        session.rollback()
        reason = describe(error)
        log.warning("failure alert email not sent: %s; a later digest run will try again "
                    "(%d failed %s waiting)", reason, waiting,
                    "job" if waiting == 1 else "jobs", exc_info=not isinstance(error, OSError))
        throttle.failed(session, throttle.FAILURES, worker, now=clock(), error=reason)
        return "failed"
    last_id = listing.last_id
    assert last_id is not None  # a listing with failures has the newest one's id
    try:
        now = clock()
        failures.mark_sent(session, last_id, now=now)
        throttle.sent(session, throttle.FAILURES, worker, now=now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    log.info("failure alert email sent to %s: %d failed jobs",
             ", ".join(config["QUEUE_ALERT_TO"]), listing.total)
    return "sent"


def after_digest_run(app: Flask) -> Callable[[Any, Any], None]:
    """The digest's run listener: sends the failure alerts after each run of due jobs."""

    def send_alerts(digest: Any, result: Any) -> None:
        if has_app_context():
            send_failure_alerts(digest.session, clock=digest.clock, worker=digest.lease.worker)
            return
        with app.app_context():
            send_failure_alerts(digest.session, clock=digest.clock, worker=digest.lease.worker)

    return send_alerts
