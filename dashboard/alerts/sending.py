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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..queue.database.write_lock import writing
from . import failures, messages, throttle

log = logging.getLogger("dashboard.alerts")

#: A claim outlives the send (bounded by MAIL_TIMEOUT) by this much, then lapses, so a
#: digest killed while sending never blocks the alerts for good.
CLAIM_SLACK = 60.0


def send_failure_alerts(session: Session, *, clock: Callable[[], datetime],
                        worker: str) -> str:
    """Send the pending failure alerts if it is time; returns what happened, in a word:
    "off", "none", "throttled", "sent" or "failed".

    Owns its transactions: each step (claim, give back, failed, sent) is one of its own,
    committed in ``writing(session)``, and none is open while the mail server talks.
    """
    config = current_app.config
    if not config["QUEUE_ALERT_TO"]:
        return "off"
    from ..app.mail import describe, mail  # the mail extra: QUEUE_ALERT_TO needs it
    waiting = failures.waiting(session)
    if not waiting:
        session.rollback()  # a read: end it
        return "none"
    if not _claim(session, worker, clock(), config):
        return "throttled"
    try:
        listing = failures.pending(session)
        session.rollback()  # a read: no transaction stays open while the mail server talks
        if not listing.total:  # another digest's email took them meanwhile
            with writing(session):
                throttle.give_back(session, throttle.FAILURES, worker)
            return "none"
        mail.send(messages.failure_alert(listing))
    except Exception as error:
        reason = describe(error)
        log.warning("failure alert email not sent: %s; a later digest run will try again "
                    "(%d failed %s waiting)", reason, waiting,
                    "job" if waiting == 1 else "jobs", exc_info=not isinstance(error, OSError))
        with writing(session):
            throttle.failed(session, throttle.FAILURES, worker, now=clock(), error=reason)
        return "failed"
    last_id = listing.last_id
    assert last_id is not None  # a listing with failures has the newest one's id
    now = clock()
    with writing(session):
        failures.mark_sent(session, last_id, now=now)
        throttle.sent(session, throttle.FAILURES, worker, now=now)
    log.info("failure alert email sent to %s: %d failed jobs",
             ", ".join(config["QUEUE_ALERT_TO"]), listing.total)
    return "sent"


def _claim(session: Session, worker: str, now: datetime, config: Any) -> bool:
    """Whether this digest may send now (see throttle.claim); the channel's row is made on
    first use."""
    try:
        with writing(session):
            throttle.ensure(session, throttle.FAILURES)
    except IntegrityError:
        pass  # another digest made the row at the same moment: it is there all the same
    with writing(session):
        return throttle.claim(session, throttle.FAILURES, worker, now=now,
                              interval=config["QUEUE_ALERT_INTERVAL"],
                              hold=config["MAIL_TIMEOUT"] + CLAIM_SLACK)


def after_digest_run(app: Flask) -> Callable[[Any, Any], None]:
    """The digest's run listener: sends the failure alerts after each run of due jobs."""

    def send_alerts(digest: Any, result: Any) -> None:
        if has_app_context():
            send_failure_alerts(digest.session, clock=digest.clock, worker=digest.lease.worker)
            return
        with app.app_context():
            send_failure_alerts(digest.session, clock=digest.clock, worker=digest.lease.worker)

    return send_alerts
