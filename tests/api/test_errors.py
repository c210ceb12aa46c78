"""Under /api/v1 every error is JSON, whatever went wrong and whatever the client accepts."""

from __future__ import annotations

import pytest

from dashboard import create_app


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/nothing-here", 404),
    ("GET", "/api/v1/jobs/", 404),
    ("GET", "/api/v2/jobs", 404),
    ("DELETE", "/api/v1/jobs", 405),
    ("PUT", "/api/v1/jobs/1", 405),
    ("OPTIONS", "/api/v1/jobs", 405),
    ("POST", "/api/v1/openapi.json", 405),
])
def test_routing_errors_are_json_even_for_a_browser(api, method, path, status):
    response = api().open(path, method, headers={"Accept": "text/html"})
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] in ("not-found", "method-not-allowed")
    if status == 405:
        assert response.headers["Allow"]


def test_the_dashboards_own_pages_still_answer_in_html(app):
    response = app.test_client().get("/jobs/nothing")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_an_unreachable_database_gets_503_json(tmp_path):
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/queue.db"})
    response = app.test_client().get("/api/v1/jobs",
                                     headers={"Authorization": "Bearer aqd_" + "x" * 43})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"error": "unavailable",
                                   "message": "the database is unavailable; try again later"}


def test_an_unexpected_failure_is_json_without_a_traceback(app, api, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("dashboard.api.views.list_jobs", broken)
    response = api("viewer").get("/api/v1/jobs")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "server-error",
        "message": "something went wrong on the server; the log has the details"}


def test_answers_are_not_cached(api):
    assert api("viewer").get("/api/v1/jobs").headers["Cache-Control"] == "no-store"
    assert api("viewer").get("/api/v1/jobs/1").headers["Cache-Control"] == "no-store"
