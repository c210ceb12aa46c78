"""What one ``POST /api/v1/jobs`` sends to the database: the token (with its scope) read
once, and the job written, on every database. Only a benchmark would notice a statement
more, so these count them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from tests.support.api import job_body, scoped_token
from tests.support.driver import on_the_driver

pytestmark = pytest.mark.all_databases


@contextmanager
def statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def note(connection, cursor, statement, *args) -> None:
        sent.append(" ".join(statement.split()[:3]).upper())

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


TOKEN = "SELECT API_TOKENS.ID, API_TOKENS.NAME,"


def _enqueue(kind: str) -> list[str]:
    """One enqueue's statements: the token read, then the save (one statement on
    PostgreSQL; the jobs' and the requests' elsewhere). SQLite takes its write lock up
    front for each transaction of a POST."""
    if kind == "postgresql":
        return [TOKEN, "WITH NEW_JOB AS"]
    if kind == "sqlite":
        return ["BEGIN IMMEDIATE", TOKEN, "BEGIN IMMEDIATE", "INSERT INTO JOBS",
                "INSERT INTO REQUESTS"]
    return [TOKEN, "INSERT INTO JOBS", "INSERT INTO REQUESTS"]


def test_an_enqueue_reads_the_token_once_and_writes_the_job(api):
    client = api("enqueue")
    # The first call of the minute writes the token's last use: not the one counted.
    assert client.post("/api/v1/jobs", job_body(("test_echo", {}))).status_code == 201
    with statements() as sent:
        response = client.post("/api/v1/jobs", job_body(("test_echo", {"n": 1})))
    assert response.status_code == 201
    assert sent == _enqueue(db.engine.dialect.name)


def test_a_scoped_token_costs_no_statement_more(app, runner):
    client = scoped_token(app, runner, "enqueue", "crm")
    first = client.post("/api/v1/jobs", job_body(("test_echo", {}), source_id="crm"))
    assert first.status_code == 201
    with statements() as sent:
        response = client.post("/api/v1/jobs", job_body(("test_echo", {}), source_id="crm"))
        refused = client.post("/api/v1/jobs", job_body(("test_echo", {}), source_id="erp"))
    assert (response.status_code, refused.status_code) == (201, 403)
    # The refused call reads the token and stops there.
    kind = db.engine.dialect.name
    assert sent == [*_enqueue(kind), *_enqueue(kind)[:_enqueue(kind).index(TOKEN) + 1]]


def test_on_postgresql_an_enqueue_opens_no_transaction(api, db_url):
    # Each statement runs alone in autocommit: no BEGIN, COMMIT or ROLLBACK round trips.
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's fast path")
    client = api("enqueue")
    assert client.post("/api/v1/jobs", job_body(("test_echo", {}))).status_code == 201
    seen: list[tuple[str, bool]] = []

    def note(connection, cursor, statement, *args) -> None:
        seen.append((" ".join(statement.split()[:3]).upper(),
                     connection.connection.driver_connection.autocommit))

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert client.post("/api/v1/jobs", job_body(("test_echo", {"n": 1}))).status_code == 201
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    assert seen == [(TOKEN, True), ("WITH NEW_JOB AS", True)]


def test_on_postgresql_an_enqueue_goes_to_the_driver(api, db_url):
    # With nothing listening to the engine's statements, the token's read and the save
    # skip SQLAlchemy's execution (driver_path.DriverStatement): two statements on the
    # driver, each in autocommit, and no SQLAlchemy Connection made for either.
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's driver path")
    client = api("enqueue")
    assert client.post("/api/v1/jobs", job_body(("test_echo", {}))).status_code == 201
    with on_the_driver(db.engine) as log:
        response = client.post("/api/v1/jobs", job_body(("test_echo", {"n": 1})))
    assert response.status_code == 201
    assert [(text.upper(), auto) for text, auto in log.sent] == [
        (TOKEN, True), ("WITH NEW_JOB AS", True)]
    assert log.connections == []
