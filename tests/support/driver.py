"""What a test sends through psycopg directly (driver_path.DriverStatement's fast path on
PostgreSQL), and whether SQLAlchemy made a Connection for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa


@dataclass
class DriverLog:
    #: Each statement psycopg executed: its first three words, and whether in autocommit.
    sent: list[tuple[str, bool]] = field(default_factory=list)
    #: The SQLAlchemy Connections the engine made meanwhile.
    connections: list[sa.Connection] = field(default_factory=list)
    #: How many cursors psycopg made.
    cursors: int = 0


@contextmanager
def on_the_driver(engine: sa.Engine) -> Iterator[DriverLog]:
    """Within: every statement psycopg executes, every cursor it makes and every
    Connection ``engine`` makes are logged. Counted on the driver, which sees everything
    sent, listening to nothing of SQLAlchemy's statement events (which would turn the fast
    path off)."""
    import psycopg

    log = DriverLog()
    execute, make_cursor = psycopg.Cursor.execute, psycopg.Connection.cursor

    def note(cursor, query, *args, **kwargs):
        log.sent.append((" ".join(str(query).split()[:3]), cursor.connection.autocommit))
        return execute(cursor, query, *args, **kwargs)

    def new_cursor(connection, *args, **kwargs):
        log.cursors += 1
        return make_cursor(connection, *args, **kwargs)

    def connected(conn: sa.Connection) -> None:
        log.connections.append(conn)

    psycopg.Cursor.execute = note  # type: ignore[method-assign]
    psycopg.Connection.cursor = new_cursor  # type: ignore[method-assign]
    sa.event.listen(engine, "engine_connect", connected)
    try:
        yield log
    finally:
        sa.event.remove(engine, "engine_connect", connected)
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Connection.cursor = make_cursor  # type: ignore[method-assign]
