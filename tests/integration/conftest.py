"""Fixtures for the tests that run digests as real processes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from tests.support.concurrency import forget_statistics
from tests.support.concurrency_types import metadata
from tests.support.processes import Digests
from tests.support.proxy import Proxy


@pytest.fixture
def recorder(app):
    """A fresh ``executions`` table next to the queue's."""
    with db.engine.begin() as connection:
        metadata.drop_all(connection)
        metadata.create_all(connection)
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        metadata.drop_all(connection)
        forget_statistics(connection)


@pytest.fixture
def digests(db_url, tmp_path, recorder):
    """Starts digests on the test database; kills those still running afterwards."""
    pool = Digests(db_url, tmp_path, QUEUE_LEASE_SECONDS=300)
    yield pool
    pool.close()


@pytest.fixture
def proxy(db_url):
    """A proxy in front of the test database's server."""
    url = sa.make_url(db_url)
    default_port = 5432 if url.get_backend_name() == "postgresql" else 3306
    proxy = Proxy(url.host, url.port or default_port)
    yield proxy
    proxy.close()
