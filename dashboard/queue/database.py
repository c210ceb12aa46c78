"""What each database needs from a connection for the queue to be correct."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
IMMEDIATE = "sqlite_begin_immediate"
#: Connections a concurrent digest uses besides one per thread: its own (claims, the
#: run's record), the heartbeat's, and the caller's session.
EXTRA_CONNECTIONS = 3
MIN_MARIADB = (10, 6)
MIN_MYSQL = (8, 0)
#: Whether every transaction begun in this context (thread) will write: see writing().
_WRITING: ContextVar[bool] = ContextVar("asyncqueue_writing", default=False)


class UnsupportedDatabase(RuntimeError):
    """The server lacks what the queue needs (SKIP LOCKED); the message names the minimum."""


def prepare_engine(engine: sa.Engine) -> None:
    """Register the per-connection settings of ``engine``'s database. Call once, before use."""
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
    elif engine.dialect.name in ("mysql", "mariadb"):
        _prepare_mysql(engine)
    elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        _prepare_postgresql(engine)


def _prepare_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        # Let SQLAlchemy's "begin" below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(IMMEDIATE) or _WRITING.get()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_for_write(session: Session) -> None:
    """Start the session's transaction as one that will read, then write.

    On SQLite this takes the write lock up front (``BEGIN IMMEDIATE``): a plain
    transaction that reads first would fail with "database is locked" on its first write
    instead of waiting its turn. Other databases lock rows instead, and ignore this. (The
    digest sets the same option on its own connection, see digest.py.)
    """
    session.connection(execution_options={IMMEDIATE: True})


def in_write_transaction(session: Session, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction of its own that takes SQLite's write lock up front,
    and commit it.

    Whatever the session was reading ends first: on SQLite a transaction that read before
    another writer (a digest) committed can't write at all, while one that starts as a
    write waits its turn. Other databases lock rows instead.
    """
    session.rollback()
    begin_for_write(session)
    try:
        result = work(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result
def set_writing(writing: bool) -> None:
    """Say whether the transactions begun from now on in this context will write.

    For a caller whose every transaction may write (an HTTP request that is not a GET, a
    CLI command that changes something): on SQLite each then takes the write lock when it
    begins, however many it commits, and whichever code reads first. Reset it afterwards.
    """
    _WRITING.set(writing)


@contextmanager
def writing() -> Iterator[None]:
    """Within: every transaction begun takes SQLite's write lock up front (see set_writing)."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def executes_alone(conn: sa.Connection) -> bool:
    """Whether ``execute_alone`` works on this connection: PostgreSQL through psycopg."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def execute_alone(conn: sa.Connection, statement: sa.Executable,
                  parameters: dict) -> Sequence[Any]:
    """Run one statement as a transaction of its own, and return its rows.

    In autocommit: the server commits the statement itself, which saves the BEGIN and
    COMMIT round trips. Only for PostgreSQL through psycopg, where a statement,
    data-modifying CTEs included, is atomic. No transaction may be open on ``conn``.
    """
    # psycopg's own switch, not SQLAlchemy's isolation_level option: the same effect for
    # far less CPU (docs/benchmarks.md), and it is back off before SQLAlchemy sends
    # anything else.
    driver: Any = conn.connection.driver_connection  # a psycopg connection
    driver.autocommit = True
    try:
        rows = conn.execute(statement, parameters).all()
        conn.commit()  # ends SQLAlchemy's transaction; psycopg has nothing to send
    except BaseException:
        conn.rollback()
        raise
    finally:
        if not (driver.closed or driver.broken):  # a lost connection is thrown away
            driver.autocommit = False
    return rows


def _prepare_postgresql(engine: sa.Engine) -> None:
    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, proxy):
        # Instead of pool_pre_ping's round trip at each checkout (one of a one-job save's
        # five, see docs/benchmarks.md): the pool then opens a new connection in place of
        # this one.
        if closed_by_server(dbapi_connection):
            raise sa.exc.DisconnectionError("the server closed this pooled connection")


def closed_by_server(dbapi_connection) -> bool:
    """Whether a pooled, idle psycopg connection is known dead, without a round trip.

    An idle connection has nothing to read. When the server ends it (a restart,
    ``pg_terminate_backend``, an idle timeout) it sends its reason and closes the socket,
    which then polls readable (or hung up). A false alarm only costs a new connection.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _prepare_mysql(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT VERSION()")
        version = cursor.fetchone()[0]
        cursor.close()
        check_mysql_version(version)


def check_mysql_version(version: str) -> None:
    """Refuse servers without ``SKIP LOCKED``: SQLAlchemy would emit it regardless."""
    numbers = tuple(int(part) for part in version.split("-")[0].split(".")[:2])
    if "mariadb" in version.lower():
        if numbers < MIN_MARIADB:
            raise UnsupportedDatabase(
                f"MariaDB {version} is too old: the queue needs MariaDB 10.6 or later "
                "(for SELECT ... FOR UPDATE SKIP LOCKED)"
            )
    elif numbers < MIN_MYSQL:
        raise UnsupportedDatabase(
            f"MySQL {version} is too old: the queue needs MySQL 8.0 or later "
            "(for SELECT ... FOR UPDATE SKIP LOCKED)"
        )


def engine_options(url: str, *, concurrency: int = 1) -> dict:
    """Engine options by database: MariaDB and MySQL read committed (fewer gap locks).

    PostgreSQL through psycopg needs no ``pool_pre_ping``: prepare_engine() checks pooled
    connections without a round trip. The pool keeps a connection for each of a digest's
    ``concurrency`` threads, and a few more (see inflight.py); a pool opens them only
    when they are used at once.
    """
    parsed = sa.make_url(url)
    name = parsed.get_backend_name()
    pool = {} if parsed.database in (None, "", ":memory:") else {
        "pool_size": max(5, concurrency + EXTRA_CONNECTIONS)}
    if name in ("mysql", "mariadb"):
        return {"isolation_level": "READ COMMITTED", "pool_pre_ping": True,
                "pool_recycle": 3600, **pool}
    if name == "postgresql" and parsed.get_driver_name() != "psycopg":
        return {"pool_pre_ping": True, **pool}
    return pool
