"""The driver path: one statement sent alone, outside a transaction, with no BEGIN or
COMMIT round trip (``autocommit``, ``execute_alone``, ``read_alone``), and, for the
statements whose SQLAlchemy execution costs as much as the server's work, straight on the
pooled connection's driver (``DriverStatement``). PostgreSQL's fast paths run on it
(dialect.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.compiler import SQLCompiler

from .engine_setup import is_postgresql

#: SQLAlchemy's log of the statements it sends (``create_engine(echo=True)`` turns it on).
_SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")


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
