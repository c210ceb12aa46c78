"""Is a digest alive? The alarm every page shows when jobs a digest could take wait and
no digest has been seen for longer than expected (``QUEUE_DIGEST_EXPECTED_SECONDS``)."""

from __future__ import annotations

from flask import Flask, current_app, g
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..app.extensions import db
from ..queries import overview
from .templating import now


def digest_alarm() -> overview.DigestSilence | None:
    """The alarm for this request, asked of the database once (the page's title and its
    banner both read it); None for a visitor who is not logged in, and on a page that
    says the database is not answering."""
    if "digest_alarm" not in g:
        g.digest_alarm = None
        if current_user.is_authenticated:
            moment, session = now(), db.session()
            try:
                g.digest_alarm = overview.digest_silence(
                    session, moment, current_app.config["QUEUE_DIGEST_EXPECTED_SECONDS"],
                    oldest_due())
            except SQLAlchemyError:
                db.session.rollback()  # the page itself says what failed
    return g.digest_alarm


def oldest_due() -> overview.DueJob | None:
    """The oldest job a digest could take now, asked once a request (the alarm and the
    overview's panel both show it)."""
    if "oldest_due" not in g:
        g.oldest_due = overview.oldest_due(db.session(), now())
    return g.oldest_due


def init_app(app: Flask) -> None:
    app.add_template_global(digest_alarm)
