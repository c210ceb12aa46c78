"""Searches stay cheap on 100,000 jobs, on every database: a ``q`` no index can look up
is refused (400 naming ``q``) before any query, and a search that runs past
DASHBOARD_SEARCH_TIMEOUT_MS asks to narrow it, over the API, on the pages and from the
command line, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from dashboard import create_app
from dashboard.api import tokens
from dashboard.app.extensions import db
from dashboard.auth.models import Role
from tests.conftest import IsolatedClient
from tests.support import databases
from tests.support.api import ApiClient
from tests.support.schema import reset_schema
from tests.support.web import add_user, log_in

pytestmark = pytest.mark.slow

JOBS = 100_000
#: Every job's payload names its customer: "cust-N" (each one of the search's trigrams
#: is in every row, so a search of "cust-x" reads them all, on PostgreSQL too).
SEED_POSTGRESQL = """
INSERT INTO jobs (relation_id, source_id, state, priority, created_at, updated_at)
SELECT 'cust-' || g, 'default', 'completed', 0, now(), now()
FROM generate_series(1, %(jobs)s) AS g
"""
SEED_OTHERS = """
INSERT INTO jobs (relation_id, source_id, state, priority, created_at, updated_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {jobs})
SELECT {name}, 'default', 'completed', 0, '2026-01-05 09:00:00', '2026-01-05 09:00:00'
FROM seq
"""
SEED_REQUESTS = """
INSERT INTO requests (job_id, position, type_code, payload, payload_search, state, attempts,
                      created_at, updated_at)
SELECT id, 0, 'test_echo', {payload}, {payload}, 'succeeded', 1, created_at, created_at
FROM jobs
"""
#: The searches of the finding: no run of three letters or digits in any.
NO_TRIGRAM = ["\\" * 200, "ab", "__", "%"]


def _seed(connection: sa.Connection) -> None:
    kind = connection.dialect.name
    if kind == "postgresql":
        connection.exec_driver_sql(SEED_POSTGRESQL, {"jobs": JOBS})
    else:
        if kind != "sqlite":
            connection.exec_driver_sql(f"SET SESSION max_recursive_iterations = {JOBS + 1}")
        name = "'cust-' || n" if kind == "sqlite" else "CONCAT('cust-', n)"
        connection.exec_driver_sql(SEED_OTHERS.format(jobs=JOBS, name=name))
    payload = ("'{\"customer\": \"' || relation_id || '\"}'" if kind != "mysql" else
               "CONCAT('{\"customer\": \"', relation_id, '\"}')")
    connection.exec_driver_sql(SEED_REQUESTS.format(payload=payload))
    if kind == "postgresql":
        connection.exec_driver_sql("ANALYZE jobs")
        connection.exec_driver_sql("ANALYZE requests")


@pytest.fixture(scope="module", params=databases.KINDS)
def seeded(request, tmp_path_factory) -> Iterator[Flask]:
    """An app on a database of its own holding 100,000 jobs, seeded once per module."""
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'queue.db'}"
    else:
        try:
            url = databases.server_url(kind, f"{databases.NAME}_search")
        except ConnectionError as error:
            if databases.required():
                pytest.fail(f"{error} (REQUIRE_ALL_DATABASES=1)")
            pytest.skip(str(error))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test",
                      "API_RATE_LIMIT_STORAGE": "memory://"})
    app.test_client_class = IsolatedClient
    reset_schema(app)
    with app.app_context():
        with db.engine.begin() as connection:
            _seed(connection)
        _, app.config["TEST_TOKEN"] = tokens.create(db.session, "viewer", "viewer",
                                                    now=datetime.now(UTC))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(seeded: Flask) -> Iterator[Flask]:
    seeded.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 2000
    with seeded.app_context():
        yield seeded
        db.session.remove()


@pytest.fixture
def api(app: Flask) -> ApiClient:
    return ApiClient(app.test_client(), app.config["TEST_TOKEN"])


@pytest.fixture
def searches(app: Flask) -> Iterator[list[str]]:
    """The statements sent that read the requests' text."""
    sent: list[str] = []

    def catch(conn, cursor, statement, *args) -> None:
        if "payload_search" in statement:
            sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    yield sent
    sa.event.remove(db.engine, "before_cursor_execute", catch)


@pytest.mark.parametrize("q", NO_TRIGRAM, ids=["backslashes", "ab", "underscores", "percent"])
def test_a_search_no_index_can_look_up_is_refused_naming_q(app, api, searches, q):
    response = api.get("/api/v1/jobs", query_string={"q": q})
    assert response.status_code == 400
    assert response.get_json()["field"] == "q"
    assert "needs 3 letters or digits in a row" in response.get_json()["message"]
    listed = app.test_cli_runner().invoke(args=["jobs", "list", "--q", q])
    assert listed.exit_code == 2 and "needs 3 letters or digits in a row" in listed.output
    assert searches == []  # refused before any query


def test_a_search_past_the_time_limit_asks_to_narrow_it(app, api):
    app.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 1
    response = api.get("/api/v1/jobs", query_string={"q": "cust-x"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == "q"
    assert response.get_json()["message"] == (
        "bad filter: q='cust-x': took more than 0.001 s to search: narrow the search "
        "(a longer text, or another filter)")
    listed = app.test_cli_runner().invoke(args=["jobs", "list", "--q", "cust-x"])
    assert listed.exit_code == 2 and "narrow the search" in listed.output
    page = log_in(app.test_client(), add_user(db.session, "ann", Role.VIEWER))
    shown = page.get("/jobs", query_string={"q": "cust-x"})
    assert shown.status_code == 400 and "narrow the search" in shown.get_data(as_text=True)
    db.session.execute(sa.delete(db.metadata.tables["users"]))
    db.session.commit()


def test_the_connection_searches_again_after_a_search_timed_out(app, api):
    app.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 1
    assert api.get("/api/v1/jobs", query_string={"q": "cust-x"}).status_code == 400
    app.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 60_000
    found = api.get("/api/v1/jobs", query_string={"q": "cust-99999"})
    assert found.status_code == 200
    assert [job["relation_id"] for job in found.get_json()["jobs"]] == ["cust-99999"]
