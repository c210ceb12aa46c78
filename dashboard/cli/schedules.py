"""``flask --app dashboard schedule list``: the recurring schedule's entries."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from ..app.extensions import db
from ..queue.jobs.settings import clock, current
from ..queue.jobs.terminal import printable
from ..queue.operations import schedules
from .common import database_errors

schedule_cli = AppGroup("schedule", help="The recurring schedule (QUEUE_SCHEDULE).")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "none"


@schedule_cli.command("list")
def list_command() -> None:
    """Each entry with its cron, its last run (slot, job, state) and its next run."""
    entries = current().settings.schedule
    if not entries:
        click.echo("no recurring schedule: QUEUE_SCHEDULE is not set")
        return
    with database_errors():
        shown = schedules.status(db.session(), entries, clock())
        db.session.commit()
    for s in shown:
        zone = "" if s.entry.timezone == "UTC" else f" ({s.entry.timezone})"
        last = (f"{_when(s.last_slot)} job {s.last_job_id} {s.last_job_state}"
                if s.last_job_id else "never")
        flags = "".join((" | disabled" if s.disabled else "",
                         f" | error: {s.error}" if s.error else ""))
        click.echo(printable(
            f"{s.entry.name}: {s.entry.cron}{zone}{', catch up' if s.entry.catch_up else ''}"
            f" | last: {last} | next: {_when(s.next_slot)} | jobs: {s.jobs}{flags}",
            one_line=True))
