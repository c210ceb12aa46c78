"""The databases the suite runs against: SQLite always, PostgreSQL and MariaDB when reachable.

Each server gets a database of its own for the tests (``TEST_DB_NAME``, default
``asyncqueue_test``; with pytest-xdist, one per worker: ``asyncqueue_test_gw0``...), so
the suite never touches other data. With
``REQUIRE_ALL_DATABASES=1`` (as in CI) an unreachable server fails the tests instead of
skipping them.
"""

from __future__ import annotations

import os
from functools import cache

import sqlalchemy as sa

#: A pytest-xdist worker ("gw0", "gw1"...) has databases of its own.
NAME = os.environ.get("TEST_DB_NAME", "asyncqueue_test") + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else "")
SERVERS = {
    "postgresql": os.environ.get(
        "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
KINDS = ("sqlite", "postgresql", "mariadb")


def required() -> bool:
    return os.environ.get("REQUIRE_ALL_DATABASES") == "1"


@cache
def server_url(kind: str, name: str = NAME) -> str:
    """The URL of this suite's own database (or ``name``) on the server, created if missing.

    Raises ConnectionError, saying why, when the server can't be reached.
    """
    admin_url = sa.make_url(SERVERS[kind])
    engine = sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args=_timeout(kind))
    try:
        with engine.connect() as connection:
            if kind == "postgresql":
                exists = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                if not exists:
                    connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                connection.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_bin")
    except Exception as error:
        raise ConnectionError(
            f"{kind} at {admin_url.render_as_string()} is not reachable: "
            f"{str(error).splitlines()[0]}") from error
    finally:
        engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def _timeout(kind: str) -> dict:
    return {"connect_timeout": 3}
