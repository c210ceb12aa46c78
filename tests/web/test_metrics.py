"""GET /metrics: Prometheus' text format, off by default, behind a bearer token."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from dashboard import create_app
from dashboard.queue import DigestRun, JobDigest, JobState, settings
from tests.support.factories import save_job
from tests.support.network import free_port

TOKEN = "scrape-me-7f3a"


@pytest.fixture
def config(config):
    return {**config, "METRICS_TOKEN": TOKEN, "METRICS_WINDOW": 300.0}


@pytest.fixture
def scrape(app, clock, monkeypatch):
    """Scrape as Prometheus does, at the test clock's time."""
    monkeypatch.setattr(settings, "_clock", clock)
    client = app.test_client()

    def scrape() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.data
        assert response.content_type.startswith("text/plain; version=")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.data.decode())
            for sample in family.samples
        }
    return scrape


def app_without_database(tmp_path, **config):
    """The token is checked before the database is read: no database kind matters here."""
    return create_app({"TESTING": True, "METRICS_TOKEN": TOKEN,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'q.db'}", **config})


def test_off_without_a_token(tmp_path):
    app = app_without_database(tmp_path, METRICS_TOKEN=None)
    assert app.test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [
    None, "Bearer wrong", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x", "Bearer é",
])
def test_a_missing_or_wrong_token_is_401(tmp_path, header):
    headers = {"Authorization": header} if header else {}
    response = app_without_database(tmp_path).test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert TOKEN.encode() not in response.data


def test_an_empty_queue(scrape):
    metrics = scrape()
    for state in JobState:
        assert metrics[("asyncqueue_jobs", (("state", state.value),))] == 0
    assert metrics[("asyncqueue_oldest_due_job_age_seconds", ())] == 0
    assert metrics[("asyncqueue_metrics_window_seconds", ())] == 300
    assert not any(name.startswith("asyncqueue_digest_") for name, _ in metrics)


def test_jobs_requests_and_oldest_due_job(scrape, session, clock):
    save_job(session, clock, ("test_boom", {}))
    save_job(session, clock, ("test_not_applicable", {}))
    JobDigest(session, clock=clock).execute()        # retrying, failed: outside the window
    clock.advance(minutes=10)
    save_job(session, clock, ("test_echo", {}))
    JobDigest(session, clock=clock).execute()        # echo succeeds, boom fails again
    clock.advance(seconds=1)
    save_job(session, clock, ("test_echo", {"n": 2}))  # due, waiting
    clock.advance(seconds=60)

    metrics = scrape()
    jobs = {labels[0][1]: value for (name, labels), value in metrics.items()
            if name == "asyncqueue_jobs"}
    assert jobs == {"pending": 1, "running": 0, "retrying": 1, "paused": 0, "completed": 1,
                    "failed": 1, "cancelled": 0}
    recent = {(name, labels): value for (name, labels), value in metrics.items()
              if name.endswith("_recent")}
    assert recent == {
        ("asyncqueue_requests_processed_recent", (("type_code", "test_boom"),)): 1,
        ("asyncqueue_requests_failed_recent", (("type_code", "test_boom"),)): 1,
        ("asyncqueue_requests_processed_recent", (("type_code", "test_echo"),)): 1,
        ("asyncqueue_requests_failed_recent", (("type_code", "test_echo"),)): 0,
    }
    assert metrics[("asyncqueue_oldest_due_job_age_seconds", ())] == 60


def test_the_digest_last_finished_run(scrape, session, clock):
    runs = DigestRun.__table__
    start = clock.now
    session.execute(sa.insert(runs), [
        dict(worker="a", started_at=start, finished_at=start + timedelta(seconds=4), jobs=9,
             succeeded=9, failed=0, retrying=0),
        dict(worker="b", started_at=start + timedelta(minutes=1),
             finished_at=start + timedelta(minutes=1, seconds=2.5), jobs=3, succeeded=3,
             failed=0, retrying=0),
        # Still running: not the last finished run.
        dict(worker="c", started_at=start + timedelta(minutes=2), finished_at=None, jobs=0,
             succeeded=0, failed=0, retrying=0),
    ])
    session.commit()
    metrics = scrape()
    assert metrics[("asyncqueue_digest_last_run_duration_seconds", ())] == 2.5
    assert metrics[("asyncqueue_digest_last_run_jobs", ())] == 3
    assert metrics[("asyncqueue_digest_last_run_timestamp_seconds", ())] == (
        start + timedelta(minutes=1, seconds=2.5)).timestamp()


def test_database_down_is_503():
    app = create_app({"TESTING": True, "METRICS_TOKEN": TOKEN, "SQLALCHEMY_DATABASE_URI":
                      f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{free_port()}/q"})
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.data == b"database unavailable\n"
