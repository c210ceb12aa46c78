"""``flask --app dashboard alerts summary [--dry-run]`` and ``alerts test``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup

from ..alerts import failures, messages
from ..app import extras
from ..app.extensions import db
from ..db import utcnow
from ..queue.jobs.terminal import printable
from .common import database_errors

if TYPE_CHECKING:
    from ..app.mail import Message

alerts_cli = AppGroup("alerts", help="Failure alert emails.")


def _need_mail() -> None:
    """The mail extra, or exit 1 naming it."""
    try:
        extras.need("flask_mail", "alert emails")
    except extras.MissingExtra as missing:
        raise click.ClickException(str(missing)) from None


def _send(message: Message) -> None:
    """Send now, or exit 1 saying why not (cron mails or logs the message)."""
    if not message.recipients:
        raise click.ClickException(
            "QUEUE_ALERT_TO is not set: no one to send to (e.g. QUEUE_ALERT_TO=ops@example.com)")
    from ..app.mail import describe, mail
    try:
        mail.send(message)
    except Exception as error:
        raise click.ClickException(f"email not sent: {describe(error)}") from None
    config = current_app.config
    click.echo(f"sent {message.subject!r} to {', '.join(map(str, message.recipients))} via "
               f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}")


@alerts_cli.command("summary")
@click.option("--dry-run", is_flag=True, help="Print the email instead of sending it.")
def summary_command(dry_run: bool) -> None:
    """Email every unresolved failed and retrying job (for a weekly cron line)."""
    _need_mail()
    with database_errors():
        listing, counts = failures.unresolved(db.session())
        db.session.commit()
    message = messages.summary(listing, counts, utcnow())
    if dry_run:
        to = ", ".join(map(str, message.recipients)) or "(QUEUE_ALERT_TO is not set)"
        click.echo(f"To: {to}")
        click.echo(printable(f"Subject: {message.subject}", one_line=True))
        click.echo()
        click.echo(printable(message.body or ""))  # its reasons come from payloads and errors
        return
    _send(message)


@alerts_cli.command("test")
def test_command() -> None:
    """Send a test message to QUEUE_ALERT_TO, to check the mail settings."""
    _need_mail()
    _send(messages.test_message(utcnow()))
