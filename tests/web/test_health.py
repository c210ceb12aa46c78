"""GET /healthz: for Docker and load balancers, no login, no details."""

import pytest

from dashboard import create_app
from dashboard.queue import JobDigest
from tests.support.factories import save_job
from tests.support.network import free_port


def test_ok_before_any_digest_run(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "last_digest_at": None}
    assert response.headers["Cache-Control"] == "no-store"


def test_says_when_the_digest_last_finished(app, session, clock):
    save_job(session, clock, ("test_echo", {}))
    JobDigest(session, clock=clock).execute()
    clock.advance(minutes=1)
    JobDigest(session, clock=clock).execute()
    body = app.test_client().get("/healthz").get_json()
    assert body == {"database": "ok", "last_digest_at": clock.now.isoformat()}
    assert body["last_digest_at"].endswith("+00:00")


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/queue",
    "mysql+pymysql://root:hunter2@127.0.0.1:{port}/queue",
])
def test_database_down_is_503_and_tells_nothing_more(url, caplog):
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": url.format(port=free_port())})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "unavailable"}
    assert b"hunter2" not in response.data and b"127.0.0.1" not in response.data
    # The reason is in the log, for the operator.
    assert "health check: the database did not answer" in caplog.text


def test_unmigrated_database_is_not_healthy(tmp_path):
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (503, {"database": "unavailable"})


def test_only_get(app):
    assert app.test_client().post("/healthz").status_code == 405
