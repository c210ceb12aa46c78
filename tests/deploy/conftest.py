"""What the deployment tests share: an empty PostgreSQL database, as a new deployment has."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support import databases


@pytest.fixture
def fresh_postgresql(request):
    """An empty PostgreSQL database of the test module's own (its URL), dropped after."""
    try:
        databases.server_url("postgresql")  # reachable?
    except ConnectionError as error:
        if databases.required():
            pytest.fail(str(error))
        pytest.skip(str(error))
    admin = sa.make_url(databases.SERVERS["postgresql"])
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    name = f"{databases.NAME}_{module}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()
