"""The apps the tests run: their settings, their test client, and an app shared by the
tests of one module (for a big table seeded once, not once per test)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard import create_app
from dashboard.app.extensions import db
from tests.support import databases
from tests.support.schema import reset_schema


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, as under a real server.

    The ``app`` fixture keeps an app context open for the test; a request would reuse it,
    and with it ``g`` (the logged-in user, the CSRF token) and the database session of
    earlier requests. An empty ``contextvars`` context makes Flask push a fresh one.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def database_url(kind: str, folder: Path) -> str:
    """The test database of ``kind``: a new SQLite file in ``folder``, or this suite's
    database on the server. Skips the test when the server can't be reached (fails it
    under REQUIRE_ALL_DATABASES=1)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'queue.db'}"
    try:
        return databases.server_url(kind)
    except ConnectionError as error:
        if databases.required():
            pytest.fail(f"{error} (REQUIRE_ALL_DATABASES=1)")
        pytest.skip(str(error))


def app_config(db_url: str) -> dict:
    """The settings of a test's app on the database at ``db_url``."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test",
        "QUEUE_LEASE_SECONDS": 300.0,
        # Counts of this app alone: the host's file would carry them from test to test.
        "API_RATE_LIMIT_STORAGE": "memory://",
    }


@contextmanager
def module_app(db_url: str) -> Iterator[Flask]:
    """An app on a freshly migrated database, its context open until the module's last
    test is done: a module-scoped ``app`` fixture, for tests that share a seeded table.
    (The next test elsewhere empties the tables, as after any test.)"""
    app = create_app(app_config(db_url))
    app.test_client_class = IsolatedClient
    reset_schema(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
