"""The migrations build exactly the models' schema, on every database, both ways."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from dashboard.app.extensions import db
from dashboard.queue.jobs.models import schema_comparison_filter


def schema_differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "include_object": schema_comparison_filter(connection.dialect.name)})
        return compare_metadata(context, db.metadata)


def test_upgrading_an_empty_database_gives_the_models_schema(app):
    # The app fixture built the schema from the migrations alone.
    assert schema_differences() == []


def test_downgrade_then_upgrade(app):
    downgrade(revision="base")
    tables = set(sa.inspect(db.engine).get_table_names())
    assert tables <= {"alembic_version"}
    upgrade()
    assert set(db.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
    assert schema_differences() == []
