"""``flask --app dashboard types pause|resume|list`` and ``connectors pause|resume``:
hold every job with a request of a type (or of a connector's types) until resumed."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..actions import pauses as pause_actions
from ..app.extensions import db
from ..queue.jobs.settings import clock
from ..queue.jobs.terminal import printable
from ..queue.store import pauses
from .common import actor, database_errors

types_cli = AppGroup("types", help="Request types: list them, pause or resume one.")
connectors_cli = AppGroup("connectors", help="Connectors: pause or resume the types of one.")


def _change(verb: str, kind: str, name: str) -> None:
    change = pause_actions.pause if verb == "pause" else pause_actions.resume
    with database_errors(writes=True):
        try:
            done = change(db.session(), kind, name, actor=actor(), now=clock())
        except pause_actions.PauseRefused as refusal:
            db.session.rollback()
            raise click.UsageError(str(refusal)) from None
        db.session.commit()
    click.echo(printable(done.message, one_line=True))


@types_cli.command("list")
def list_types_command() -> None:
    """Each request type this installation defines, its connector, and whether paused."""
    from ..queue import registry

    with database_errors():
        paused = {p.type_code: p for p in pauses.listed(db.session())}
    for code in registry.codes():
        line = f"{code}: connector {registry.get(code).connector.name}"
        if code in paused:
            p = paused[code]
            line += (f", paused since {p.paused_at:%Y-%m-%d %H:%M:%S} UTC by {p.paused_by}"
                     + (f" (with connector {p.connector})" if p.connector else ""))
        click.echo(printable(line, one_line=True))


@types_cli.command("pause")
@click.argument("type_code")
def pause_type_command(type_code: str) -> None:
    """Hold every job with a request of TYPE_CODE still to run, new ones too."""
    _change("pause", "type", type_code)


@types_cli.command("resume")
@click.argument("type_code")
def resume_type_command(type_code: str) -> None:
    """Let digests start the jobs of TYPE_CODE again."""
    _change("resume", "type", type_code)


@connectors_cli.command("pause")
@click.argument("name")
def pause_connector_command(name: str) -> None:
    """Pause every request type that uses connector NAME."""
    _change("pause", "connector", name)


@connectors_cli.command("resume")
@click.argument("name")
def resume_connector_command(name: str) -> None:
    """Resume the types that pausing connector NAME paused."""
    _change("resume", "connector", name)
