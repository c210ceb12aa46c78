"""What every command shares: a job id option, who acts, database failures in words."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import click
import sqlalchemy.exc

from ..queries.filters import MAX_ID
from ..queue.database.engine_setup import UnsupportedDatabase
from ..queue.database.write_lock import writing

#: A job id on the command line: a larger one would fail in the database, not here.
JOB_ID = click.IntRange(1, MAX_ID)



def actor() -> str:
    """Who runs a command, for the audit log: ``cli:`` and the OS user (a user name of the
    dashboard never holds ``:``, so it can't pass for one)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment (a container without one)
        return "cli:unknown"


def database_problem(error: Exception) -> str:
    """Say in words why the database could not be used."""
    text = str(getattr(error, "orig", None) or error)
    missing = ("no such table", "does not exist", "doesn't exist", "undefinedtable")
    if any(word in text.lower() for word in missing):
        return ("the database has no queue tables (or an old schema): run "
                "`flask --app dashboard db upgrade` first")
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"the database could not be used: {first_line}"


@contextmanager
def database_errors(*, writes: bool = False) -> Iterator[None]:
    """Turn database failures into a one-line message and exit code 1, for cron.

    ``writes``: the command changes something, so each of its transactions takes SQLite's
    write lock up front (see queue.database.write_lock.writing), rather than fail while a
    digest writes.
    """
    try:
        with writing() if writes else nullcontext():
            yield
    except UnsupportedDatabase as error:
        raise click.ClickException(str(error)) from None
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise click.ClickException(database_problem(error)) from None
