from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from dashboard import create_app
from dashboard.app.extensions import db
from tests.support import databases
from tests.support.apps import IsolatedClient, app_config, database_url
from tests.support.clock import Clock
from tests.support.schema import build_template, copy_template, empty_tables, reset_schema
from tests.support.smtp import SMTPServer

#: The databases migrated in this session: later tests only empty their tables.
_migrated: set[str] = set()

#: The folders whose tests run on SQLite alone, unless marked ``all_databases``: the pages,
#: the API and the commands mostly run SQL that is the same on every database, and the
#: core's SQL runs on all three in tests/integration.
SQLITE_ONLY = ("web", "api", "cli")
TESTS = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "all_databases: a page, API or command test that reaches SQL of a "
        "database's own (a fast path, a search, an order, a limit): run on SQLite, "
        "PostgreSQL and MariaDB, not on SQLite alone")


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test of tests/web, tests/api or tests/cli gets ``db_url`` on SQLite only, unless
    marked ``all_databases`` or parametrized over ``db_url`` itself."""
    definition = metafunc.definition
    if "db_url" not in metafunc.fixturenames or definition.get_closest_marker("all_databases"):
        return
    if definition.path.parent.relative_to(TESTS).parts[:1] not in [(d,) for d in SQLITE_ONLY]:
        return
    for mark in definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "db_url" in ([n.strip() for n in names.split(",")] if isinstance(names, str)
                        else names):
            return
    definition.add_marker(pytest.mark.parametrize("db_url", ["sqlite"], indirect=True))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A module's tests in the order of its ``run_order(item)`` where it has one (stable:
    the file's order within a key). pytest orders module-scoped parameters its own way; a
    module that seeds a big table per parameter knows the order that seeds it least."""
    ordered: list[pytest.Item] = []
    for module, group in itertools.groupby(items, key=lambda item: getattr(item, "module", None)):
        module_items = list(group)
        order = getattr(module, "run_order", None)
        ordered.extend(sorted(module_items, key=order) if order else module_items)
    items[:] = ordered


@pytest.fixture(params=databases.KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each test that uses the database runs once per database kind."""
    return database_url(request.param, tmp_path)


@pytest.fixture
def config(db_url: str) -> dict:
    return app_config(db_url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once a session: each SQLite test's database
    starts as a copy of it (running the migrations takes far longer than the copy)."""
    path = tmp_path_factory.mktemp("template") / "queue.db"
    build_template(create_app(app_config(f"sqlite:///{path}")), path)
    return path


@pytest.fixture
def app(config: dict, request: pytest.FixtureRequest) -> Iterator[Flask]:
    app = create_app(config)
    app.test_client_class = IsolatedClient
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        if not copy_template(app, request.getfixturevalue("sqlite_template")):
            reset_schema(app)
    elif url not in _migrated:
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
