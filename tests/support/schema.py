"""The test databases' schema: built from the migrations, as a user would, and emptied
between tests."""

from __future__ import annotations

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
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
