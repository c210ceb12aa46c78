"""Which database errors a digest waits out (a server refusing or losing its connections:
a restart, a connection limit) and which end the run: as the drivers raise them."""

from __future__ import annotations

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

from dashboard.queue.digest.connections import waitable

MARIADB = sa.create_engine("mysql+pymysql://root@127.0.0.1:1/queue")
POSTGRESQL = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/queue")


def raised(engine: sa.Engine, orig: Exception) -> sa.exc.DBAPIError:
    """``orig`` as SQLAlchemy hands it on (its class picked by the driver's)."""
    base = pymysql.err.Error if engine is MARIADB else psycopg.Error
    return sa.exc.DBAPIError.instance("SELECT 1", {}, orig, base)


@pytest.mark.parametrize("orig", [
    # What MariaDB's clients see while it shuts down, is killed or starts again.
    pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"),
    pymysql.err.OperationalError(2006, "MySQL server has gone away"),
    pymysql.err.OperationalError(
        2003, "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)"),
    pymysql.err.OperationalError(1927, "Connection was killed"),
    pymysql.err.OperationalError(1053, "Server shutdown in progress"),
    pymysql.err.OperationalError(1040, "Too many connections"),
], ids=lambda orig: str(orig.args[0]))
def test_mariadb_restarts_and_limits_are_waited_out(orig):
    assert waitable(raised(MARIADB, orig), MARIADB)


@pytest.mark.parametrize("text", [
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    "the database system is not yet accepting connections",
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    "the database system is starting up",
    "terminating connection due to administrator command",
    "consuming input failed: server closed the connection unexpectedly",
])
def test_postgresql_restarts_are_waited_out(text):
    assert waitable(raised(POSTGRESQL, psycopg.OperationalError(text)), POSTGRESQL)


@pytest.mark.parametrize(("engine", "orig"), [
    (MARIADB, pymysql.err.IntegrityError(1062, "Duplicate entry '1' for key 'PRIMARY'")),
    (MARIADB, pymysql.err.ProgrammingError(1146, "Table 'queue.jobs' doesn't exist")),
    (POSTGRESQL, psycopg.errors.UndefinedTable('relation "jobs" does not exist')),
])
def test_other_errors_end_the_run(engine, orig):
    assert not waitable(raised(engine, orig), engine)
