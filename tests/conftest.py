from __future__ import annotations

import contextvars
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard import create_app
from dashboard.app.extensions import db
from tests.support import databases
from tests.support.clock import Clock
from tests.support.schema import empty_tables, reset_schema
from tests.support.smtp import SMTPServer


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, as under a real server.

    The ``app`` fixture keeps an app context open for the test; a request would reuse it,
    and with it ``g`` (the logged-in user, the CSRF token) and the database session of
    earlier requests. An empty ``contextvars`` context makes Flask push a fresh one.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


#: The databases migrated in this session: later tests only empty their tables.
_migrated: set[str] = set()


@pytest.fixture(params=databases.KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each test that uses the database runs once per database kind."""
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    try:
        return databases.server_url(kind)
    except ConnectionError as error:
        if databases.required():
            pytest.fail(f"{error} (REQUIRE_ALL_DATABASES=1)")
        pytest.skip(str(error))


@pytest.fixture
def config(db_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test",
        "QUEUE_LEASE_SECONDS": 300.0,
        # Counts of this app alone: the host's file would carry them from test to test.
        "API_RATE_LIMIT_STORAGE": "memory://",
    }


@pytest.fixture
def app(config: dict) -> Iterator[Flask]:
    app = create_app(config)
    app.test_client_class = IsolatedClient
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite") or url not in _migrated:
        reset_schema(app)
        _migrated.add(url)
    else:
        empty_tables(app)
    with app.app_context():
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> sa.orm.Session:
    return db.session


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, for the test's emails."""
    server = SMTPServer().start()
    yield server
    server.stop()


import tests.support.types  # noqa: E402,F401 - registers the test request types
