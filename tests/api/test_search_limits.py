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
from tests.support import databases
from tests.support.api import ApiClient
from tests.support.schema import reset_schema
from tests.support.search_seed import JOBS, NO_TRIGRAM, seed
from tests.support.web import add_user, log_in, post

pytestmark = [pytest.mark.slow, pytest.mark.all_databases]

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
    reset_schema(app)
    with app.app_context():
        with db.engine.begin() as connection:
            seed(connection, JOBS)
        _, app.config["TEST_TOKEN"] = tokens.create(db.session, "viewer", "viewer",
                                                    now=datetime.now(UTC))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(seeded: Flask) -> Flask:
    """The seeded app, outside any app context: each request pushes its own."""
    seeded.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 2000
    return seeded


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

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", catch)
    yield sent
    sa.event.remove(engine, "before_cursor_execute", catch)


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
    with app.app_context():
        page = log_in(app.test_client(), add_user(db.session, "ann", Role.VIEWER))
    shown = page.get("/jobs", query_string={"q": "cust-x"})
    assert shown.status_code == 400 and "narrow the search" in shown.get_data(as_text=True)
    with app.app_context():
        operator = log_in(app.test_client(), add_user(db.session, "oli", Role.OPERATOR))
    bulk = post(operator, "/jobs/bulk", {"action": "cancel", "scope": "filter", "q": "cust-x"})
    assert bulk.status_code == 400 and "narrow the search" in bulk.get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.delete(db.metadata.tables["users"]))
        db.session.commit()


def test_the_connection_searches_again_after_a_search_timed_out(app, api):
    app.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 1
    assert api.get("/api/v1/jobs", query_string={"q": "cust-x"}).status_code == 400
    app.config["DASHBOARD_SEARCH_TIMEOUT_MS"] = 60_000
    found = api.get("/api/v1/jobs", query_string={"q": "cust-99999"})
    assert found.status_code == 200
    assert [job["relation_id"] for job in found.get_json()["jobs"]] == ["cust-99999"]
