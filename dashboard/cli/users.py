"""``flask --app dashboard users create NAME --role ROLE [--password-stdin]`` and friends."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .. import audit
from ..app.extensions import db
from ..auth import sessions
from ..auth.models import Role, User, check_password, new_user
from .common import actor, database_errors

users_cli = AppGroup("users", help="Manage the dashboard's users.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="password") from None
    return password


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="viewer: sees everything; operator: also acts on jobs; admin: also "
                   "manages users.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def create_command(name: str, role: str, password_stdin: bool) -> None:
    """Create a user; the password is asked twice, or read from standard input."""
    with database_errors(writes=True):
        if db.session.scalar(sa.select(User.id).where(User.name == name.strip())):
            raise click.ClickException(f"a user named {name.strip()} already exists")
        try:
            user = new_user(name, role, _password(password_stdin))
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        db.session.add(user)
        audit.record(db.session(), actor(), "user-create", [],
                     detail=f"created {user.name} ({user.role})")
    click.echo(f"created user {user.name} ({user.role})")


@users_cli.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def set_password_command(name: str, password_stdin: bool) -> None:
    """Give a user a new password (their open sessions end)."""
    with database_errors(writes=True):
        user = db.session.scalar(sa.select(User).where(User.name == name))
        if user is None:
            raise click.ClickException(f"no user named {name}")
        user.set_password(_password(password_stdin))
        sessions.end_all(db.session(), user.id)
        audit.record(db.session(), actor(), "user-password", [], detail=f"new password for {name}")
    click.echo(f"new password set for {name}")


@users_cli.command("list")
def list_command() -> None:
    """Print every user and their role."""
    with database_errors():
        users = db.session.scalars(sa.select(User).order_by(User.name)).all()
    for user in users:
        click.echo(f"{user.name}\t{user.role}\t{user.created_at:%Y-%m-%d %H:%M} UTC")
    if not users:
        click.echo("no users yet: flask --app dashboard users create NAME --role admin")
