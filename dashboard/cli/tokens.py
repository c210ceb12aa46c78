"""``flask --app dashboard tokens create NAME --role ROLE``, ``tokens list``, ``tokens revoke``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .. import audit
from ..api import tokens
from ..api.models import ApiToken, TokenRole
from ..app.extensions import db
from ..queue.jobs.settings import clock
from .common import actor, database_errors

tokens_cli = AppGroup("tokens", help="Manage the HTTP API's bearer tokens.")


@tokens_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in TokenRole]),
              help="enqueue: only enqueues jobs; viewer: reads jobs; operator: reads, "
                   "enqueues and acts on jobs; admin: also deletes finished jobs.")
@click.option("--replace", is_flag=True,
              help="Replace the token of that name (the old one stops working at once).")
@click.option("--source", "sources", multiple=True, metavar="SOURCE_ID",
              help="Limit the token to jobs of this source_id (repeat for several): it "
                   "enqueues, sees and acts on those only. Default: every source.")
def create_command(name: str, role: str, replace: bool, sources: tuple[str, ...]) -> None:
    """Create a token and print it, alone on standard output: it is shown only once."""
    now = clock()
    try:
        name = tokens.check_name(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None
    try:
        sources = tuple(tokens.check_sources(sources))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--source") from None
    with database_errors(writes=True):
        existing = tokens.named(db.session(), name)
        if existing is not None and not replace:
            raise click.ClickException(
                f"a token named {name} already exists (use --replace to replace it)")
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        _, secret = tokens.create(db.session(), name, role, now=now, sources=sources)
        audit.record(db.session(), actor(), "token-create", [], at=now,
                     detail=f"{'replaced' if existing else 'created'} token {name} ({role}, "
                            f"{_scope(sources)})")
        db.session.commit()
    click.echo(secret)
    click.echo(f"created token {name} ({role}, {_scope(sources)}); it is shown only once: "
               "keep it now", err=True)


@tokens_cli.command("list")
def list_command() -> None:
    """Print every token: name, role, sources, created, last used, revoked (never the
    secret)."""
    with database_errors():
        found = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.name)).all()
    if not found:
        click.echo("no tokens yet: flask --app dashboard tokens create NAME --role ROLE",
                   err=True)
    for token in found:
        click.echo("\t".join([
            token.name, token.role, _scope(token.sources), f"created {_time(token.created_at)}",
            f"last used {_time(token.last_used_at)}",
            f"revoked {_time(token.revoked_at)}" if token.revoked_at else "active",
        ]))


@tokens_cli.command("revoke")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Revoke without asking first (for scripts).")
def revoke_command(name: str, yes: bool) -> None:
    """Refuse the token from now on (its name stays taken); asks first, unless --yes."""
    if not yes:
        with database_errors():
            token = _live_token(name)
            question = (f"Revoke token {name} ({token.role}, {_scope(token.sources)})? "
                        "Every client using it is refused from then on")
        # No transaction stays open while the question waits: it would hold SQLite's lock.
        db.session.rollback()
        if not click.confirm(question, err=True):
            raise click.ClickException(f"token {name} is not revoked")
    now = clock()
    with database_errors(writes=True):
        token = _live_token(name)
        tokens.revoke(db.session(), token, now=now)
        audit.record(db.session(), actor(), "token-revoke", [], at=now,
                     detail=f"revoked token {name} ({token.role})")
        db.session.commit()
    click.echo(f"revoked token {name}")


def _live_token(name: str) -> ApiToken:
    """The token of that name, not yet revoked; ClickException says why not."""
    token = tokens.named(db.session(), name)
    if token is None:
        raise click.ClickException(f"no token named {name}")
    if token.revoked_at is not None:
        raise click.ClickException(f"token {name} is already revoked")
    return token


def _scope(sources: tuple[str, ...] | None) -> str:
    return f"sources {','.join(sources)}" if sources else "every source"


def _time(moment) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
