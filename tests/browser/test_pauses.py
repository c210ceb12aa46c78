"""Pausing a request type in a real Chromium, at a desktop's width and a phone's: the
operator pauses a type on the overview, a job enqueued afterwards says it waits for it
and a digest refuses it, and it runs once the type is resumed."""

from __future__ import annotations

import pytest

import tests.support.types  # noqa: F401  (the request types the jobs below use)
from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.queue import JobDigest, JobRepository, JobState, NotRunnable, QueueSettings
from tests.support.factories import make_job


def _app(server):
    return create_app({"SQLALCHEMY_DATABASE_URI": server.env["DATABASE_URL"],
                       "SECRET_KEY": "browser-tests"})


def enqueue(server) -> int:
    with _app(server).app_context():
        job_id = JobRepository(db.session).save(make_job(("test_echo", {"paused": 1}))).id
        db.session.remove()
    return job_id


def digest_then_state(server, job_id: int) -> JobState:
    """Ask a digest to run the job (the other tests' jobs are left as they are), then
    read its state: a paused type's job is refused, and stays as it was."""
    with _app(server).app_context():
        repository = JobRepository(db.session)
        try:
            JobDigest(db.session, settings=QueueSettings()).set_job(
                repository.get(job_id)).execute()
        except NotRunnable as refusal:
            assert "paused type 'test_echo'" in str(refusal)
        db.session.rollback()
        state = repository.get(job_id).state
        db.session.remove()
    return state


@pytest.mark.parametrize("width", [1440, 390])
def test_a_paused_type_holds_a_new_job_until_resumed(page, server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server.url}/")
    form = page.locator("form.pause-type")
    form.get_by_label("Pause a type").select_option("test_echo")
    form.get_by_role("button", name="Pause").click()
    page.wait_for_url(f"{server.url}/")
    assert "is paused" in page.locator(".flash").inner_text()
    assert page.locator('[data-paused-type="test_echo"]').is_visible()

    job_id = enqueue(server)
    assert digest_then_state(server, job_id) == JobState.PENDING
    page.goto(f"{server.url}/jobs/{job_id}")
    assert "Paused type" in page.locator(".paused-type").inner_text()

    page.goto(f"{server.url}/")
    row = page.locator('[data-paused-type="test_echo"]')
    row.get_by_role("button", name="Resume").click()
    page.wait_for_url(f"{server.url}/")
    assert "is resumed" in page.locator(".flash").inner_text()
    assert page.locator('[data-paused-type="test_echo"]').count() == 0
    assert digest_then_state(server, job_id) == JobState.COMPLETED
    page.goto(f"{server.url}/jobs/{job_id}")
    assert page.locator(".paused-type").count() == 0
