"""What each database needs from a connection for the queue to be correct."""

from __future__ import annotations

import logging
import select
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.compiler import SQLCompiler

from . import sqlite_space

IMMEDIATE = "sqlite_begin_immediate"
MIN_MARIADB = (10, 6)
MIN_MYSQL = (8, 0)
#: SQLAlchemy's log of the statements it sends (``create_engine(echo=True)`` turns it on).
_SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")
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
    elif is_postgresql(engine) and engine.dialect.driver == "psycopg":
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

    sqlite_space.prepare(engine)  # the write-ahead log kept in bounds (a full disk)


def begin_for_write(session: Session) -> None:
    """Start the session's transaction as one that will read, then write.

    On SQLite this takes the write lock up front (``BEGIN IMMEDIATE``): a plain
    transaction that reads first would fail with "database is locked" on its first write
    instead of waiting its turn. Other databases lock rows instead, and ignore this. (The
    digest sets the same option on its own connection, see digest.py.)
    """
    session.connection(execution_options={IMMEDIATE: True})


@contextmanager
def writing(session: Session | None = None) -> Iterator[None]:
    """Within: every transaction begun in this context (thread) takes SQLite's write lock
    up front (``BEGIN IMMEDIATE``), however many it commits and whichever code reads first.
    Other databases lock rows instead, and ignore this.

    For a caller whose transactions may write (an HTTP request that is not a GET, a CLI
    command that changes something), and, given a ``session``, for one write of its own:
    whatever the session was reading ends first (on SQLite a transaction that read before
    another writer, a digest, committed can't write at all, while one that starts as a
    write waits its turn), and the block's changes are committed at its end, or rolled
    back if it raises.
    """
    token = _WRITING.set(True)
    try:
        if session is None:
            yield
            return
        session.rollback()
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        _WRITING.reset(token)


def is_postgresql(bind: sa.Connection | sa.Engine) -> bool:
    """Whether ``bind`` is PostgreSQL: the one test of it (see dialect.py)."""
    return bind.dialect.name == "postgresql"


@contextmanager
def autocommit(conn: sa.Connection) -> Iterator[None]:
    """Within: each statement on ``conn`` is a transaction of its own, committed by the
    server, which saves the BEGIN and COMMIT round trips (PostgreSQL, where a statement,
    data-modifying CTEs included, is atomic). Nothing may have run yet in the connection's
    transaction; its commit afterwards sends nothing.
    """
    with _driver_autocommit(conn.connection.driver_connection):
        yield


@contextmanager
def _driver_autocommit(driver: Any) -> Iterator[None]:
    # The driver's own switch, not SQLAlchemy's isolation_level option: the same effect
    # for far less CPU (docs/benchmarks.md), and it is back off before SQLAlchemy sends
    # anything else.
    driver.autocommit = True
    try:
        yield
    finally:
        # A lost connection is thrown away.
        if not (driver.closed or getattr(driver, "broken", False)):
            driver.autocommit = False


#: A statement compiled for a dialect: its bind processors by name, its result processors.
_Compiled = tuple[SQLCompiler, dict[str, Any], list[Any] | None]


#: Where DriverStatement keeps a pooled connection's cursor: in the pool's ``info`` of
#: the connection, which the pool empties when it replaces the connection.
_CURSOR = "asyncqueue.driver_cursor"


class DriverStatement:
    """A Core statement compiled once per dialect and run alone (see autocommit) on a
    pooled connection's driver: for a statement whose execution through SQLAlchemy (a
    Connection, the compiled cache's look-up, an execution context, a result) costs as
    much as the server's work, as a one-job save's does (docs/benchmarks.md).

    The parameters go through the statement's bind processors and the rows' values
    through its result processors (a ``UTCDateTime`` comes back aware), as in SQLAlchemy,
    and a driver's error comes out as SQLAlchemy's (an ``IntegrityError`` stays one; a lost
    connection is not pooled again). While anything listens to the engine's statements
    (instrumentation, a test counting them) or SQLAlchemy logs them (``echo``), the
    statement goes through SQLAlchemy instead, the same text with the same values, so
    that they see it.
    """

    def __init__(self, statement: sa.ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[sa.Dialect, _Compiled] = {}

    def rows(self, engine: sa.Engine, parameters: dict[str, Any]) -> list[tuple]:
        """The statement's rows, run alone on a connection of ``engine``'s pool."""
        compiled, processors, results = self._compile(engine.dialect)
        values = compiled.construct_params(parameters)
        for name, process in processors.items():
            values[name] = process(values[name])
        rows = self._run(engine, compiled.string, values)
        if results:
            rows = [tuple(value if process is None else process(value)
                          for process, value in zip(results, row, strict=True)) for row in rows]
        return rows

    @staticmethod
    def _run(engine: sa.Engine, text: str, values: MutableMapping[str, Any]) -> list[tuple]:
        if (engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute
                or _SQL_LOG.isEnabledFor(logging.INFO)):
            with engine.connect() as conn, autocommit(conn):
                return [tuple(row) for row in conn.exec_driver_sql(text, values)]
        connection = engine.raw_connection()
        try:
            driver: Any = connection.driver_connection  # a psycopg connection
            # The connection's own cursor, kept while the pool keeps the connection: a new
            # cursor looks up the parameters' adapters again, 5-10% of a one-job save's
            # time (docs/benchmarks.md).
            cursor = connection.info.get(_CURSOR)
            if cursor is None or cursor.closed or cursor.connection is not driver:
                cursor = connection.info[_CURSOR] = driver.cursor()
            with _driver_autocommit(driver):
                return cursor.execute(text, values).fetchall()
        except engine.dialect.loaded_dbapi.Error as error:
            lost = engine.dialect.is_disconnect(error, connection.dbapi_connection, None)
            if lost:
                connection.invalidate(error)
            raise sa.exc.DBAPIError.instance(text, values, error,
                                             engine.dialect.loaded_dbapi.Error,
                                             connection_invalidated=lost) from error
        finally:
            connection.close()

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            processors = {name: process for name, bind in compiled.binds.items()
                          if (process := bind.type.dialect_impl(dialect).bind_processor(
                              dialect)) is not None}
            # A processor per column of the rows, or None: none at all when no column has one.
            results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in cast(sa.ReturnsRows, self.statement).exported_columns]
            found = self._compiled[dialect] = (compiled, processors,
                                               results if any(results) else None)
        return found


def execute_alone(conn: sa.Connection, statement: sa.Executable,
                  parameters: dict) -> Sequence[Any]:
    """Run one statement as a transaction of its own (see autocommit), and return its
    rows. No transaction may be open on ``conn``."""
    try:
        with autocommit(conn):
            rows = conn.execute(statement, parameters).all()
        conn.commit()  # ends SQLAlchemy's transaction; the driver has nothing to send
    except BaseException:
        conn.rollback()
        raise
    return rows


def read_alone(session: Session, statement: DriverStatement,
               parameters: dict[str, Any]) -> list[tuple]:
    """The rows of one read that needs no snapshot shared with other statements and
    writes nothing: a transaction of its own on PostgreSQL (see autocommit), with no
    BEGIN and no ROLLBACK round trips, on the driver (DriverStatement) when the session
    reads through its engine. Elsewhere, a transaction of the session's, ended at once;
    with a transaction already open, in that one."""
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():
        return _rows(session.connection(), statement, parameters)
    bind = session.get_bind()
    if isinstance(bind, sa.Engine) and is_postgresql(bind):
        return statement.rows(bind, parameters)
    conn = session.connection()
    try:
        if is_postgresql(conn):
            with autocommit(conn):
                return _rows(conn, statement, parameters)
        return _rows(conn, statement, parameters)
    finally:
        session.rollback()


def _rows(conn: sa.Connection, statement: DriverStatement,
          parameters: dict[str, Any]) -> list[tuple]:
    return [tuple(row) for row in conn.execute(cast(sa.Executable, statement.statement),
                                               parameters)]


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


def engine_options(url: str, *, connections: int = 8) -> dict:
    """Engine options by database: MariaDB and MySQL read committed (fewer gap locks).

    PostgreSQL through psycopg needs no ``pool_pre_ping``: prepare_engine() checks pooled
    connections without a round trip. The pool keeps the ``connections`` a digest process
    uses at most (QUEUE_DB_CONNECTIONS, see connections.py), whatever its concurrency; a
    pool opens them only when they are used at once.
    """
    parsed = sa.make_url(url)
    name = parsed.get_backend_name()
    pool = {} if parsed.database in (None, "", ":memory:") else {
        "pool_size": max(5, connections)}
    if name in ("mysql", "mariadb"):
        return {"isolation_level": "READ COMMITTED", "pool_pre_ping": True,
                "pool_recycle": 3600, **pool}
    if name == "postgresql" and parsed.get_driver_name() != "psycopg":
        return {"pool_pre_ping": True, **pool}
    return pool
