"""The test databases' schema: built from the migrations, as a user would, and emptied
between tests. SQLite databases start as a copy of one migrated once a session."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from dashboard.app.extensions import db
from dashboard.db import Base


def migrate_to_head(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def reset_schema(app: Flask) -> None:
    """Drop everything, then build the schema from the migrations, as a user would."""
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate_to_head(app)


def empty_tables(app: Flask) -> None:
    """Empty every table. On PostgreSQL by TRUNCATE: a DELETE leaves its rows dead in the
    tables and indexes (autovacuum is off on the test servers), and the planner then sees
    the bloat of whichever tests ran before in the same database, which pytest-xdist
    changes from run to run: the tests that check plans need the same start each time."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(Base.metadata.sorted_tables))
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(connection.dialect.identifier_preparer.format_table(t)
                                  for t in tables)
                connection.exec_driver_sql(f"TRUNCATE {names}")
                return
            for table in tables:
                connection.execute(table.delete())


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = sa.make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" \
            or name.startswith("file:"):
        return None
    return Path(name)


def build_template(app: Flask, path: Path) -> None:
    """Migrate the app's SQLite database (at ``path``) to head and leave it whole in its
    one file, ready to be copied: no write-ahead log beside it."""
    migrate_to_head(app)
    with app.app_context():
        db.engine.dispose()
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_template(app: Flask, template: Path) -> bool:
    """Give the app's new, empty SQLite database the migrated schema by copying
    ``template`` over it; False (nothing done) when the database is not such a file."""
    path = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is None or not path.is_file() or path.stat().st_size:
        return False
    with app.app_context():
        db.engine.dispose()
    shutil.copyfile(template, path)  # into the file create_app made: its mode (0600) stays
    return True
