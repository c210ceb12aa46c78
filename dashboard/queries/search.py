"""The job list's text search (``q``) stays cheap: every search runs under a time limit
(``DASHBOARD_SEARCH_TIMEOUT_MS``), past which the answer asks to narrow it.

PostgreSQL finds ``q`` through the trigram indexes of the payloads' search copy and the
stored errors (migration 0009), which hold runs of three letters or digits: a ``q``
without one (``ab``, ``%``, ``__``, backslashes) would read every request, and is refused
as it is parsed (``filters.TRIGRAM``). SQLite and MariaDB read every request for any
``q``: the time limit bounds them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .filters import BadFilter, JobFilter

#: PostgreSQL's "canceling statement due to statement timeout"; MariaDB's "Query execution
#: was interrupted (max_statement_time exceeded)"; SQLite's "interrupted".
POSTGRESQL_CANCELED = "57014"
MARIADB_TIMED_OUT = 1969
#: SQLite asks the handler every this many steps of its virtual machine.
SQLITE_STEPS = 10_000


@contextmanager
def time_limit(session: Session, found: JobFilter, milliseconds: int) -> Iterator[None]:
    """The statements of the block, when ``found`` searches text, each stopped after
    ``milliseconds``: then BadFilter on ``q`` asks to narrow the search (the transaction
    is rolled back)."""
    if found.search is None:
        yield
        return
    connection = session.connection()
    kind = connection.dialect.name
    undo = _limit(connection, kind, milliseconds)
    try:
        yield
    except sa.exc.OperationalError as error:
        if not _timed_out(error):
            raise
        session.rollback()
        raise BadFilter("q", found.search,
                        f"took more than {milliseconds / 1000:g} s to search: narrow the "
                        "search (a longer text, or another filter)") from None
    finally:
        if undo is not None:
            undo()


def _limit(connection: sa.Connection, kind: str,
           milliseconds: int) -> Callable[[], object] | None:
    """Sets the limit on the connection; returns what lifts it, when it outlives the
    transaction."""
    if kind == "postgresql":  # this transaction only
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(milliseconds)}")
        return None
    # Both outlive the transaction on the driver's connection, which goes back to the
    # pool: they are lifted on it, whether or not a rollback closed ``connection``.
    raw: Any = connection.connection.dbapi_connection
    if kind in ("mysql", "mariadb"):
        connection.exec_driver_sql(f"SET SESSION max_statement_time = {milliseconds / 1000}")
        return lambda: _on_driver(raw, "SET SESSION max_statement_time = 0")
    deadline = time.monotonic() + milliseconds / 1000
    raw.set_progress_handler(lambda: time.monotonic() > deadline, SQLITE_STEPS)
    return lambda: raw.set_progress_handler(None, SQLITE_STEPS)


def _on_driver(raw: Any, statement: str) -> None:
    cursor = raw.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _timed_out(error: sa.exc.OperationalError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) == POSTGRESQL_CANCELED:
        return True
    if getattr(original, "args", (None,))[0] == MARIADB_TIMED_OUT:
        return True
    return "interrupted" in str(original)
