"""URLs in the API's answers come from DASHBOARD_URL when it is set, never from the
request's Host header, which any client writes."""

from __future__ import annotations

import pytest

from tests.support.api import job_body
from tests.support.factories import save_job

HOSTILE = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.fixture
def configured(app):
    app.config["DASHBOARD_URL"] = "https://queue.example.com"
    return app


def test_enqueue_answers_with_urls_on_the_dashboard_url(configured, api):
    response = api("enqueue").post("/api/v1/jobs", job_body(("test_echo", {})),
                                   headers=HOSTILE)
    assert response.status_code == 201
    url = f"https://queue.example.com/api/v1/jobs/{response.get_json()['id']}"
    assert response.headers["Location"] == url
    assert response.get_json()["url"] == url


def test_the_list_and_its_next_page_link_use_the_dashboard_url(configured, api, session,
                                                               clock):
    for n in range(3):
        save_job(session, clock, ("test_echo", {"n": n}))
    body = api("viewer").get("/api/v1/jobs?limit=2&state=pending", headers=HOSTILE).get_json()
    assert body["next"] == (f"https://queue.example.com/api/v1/jobs?state=pending&before="
                            f"{body['next_before']}&limit=2")
    assert all(job["url"].startswith("https://queue.example.com/api/v1/jobs/")
               for job in body["jobs"])
    assert "evil" not in str(body)


def test_a_dashboard_url_with_a_path_is_not_doubled_under_a_prefix(configured, api, session,
                                                                   clock):
    configured.config["DASHBOARD_URL"] = "https://example.com/queue"
    job = save_job(session, clock, ("test_echo", {}))
    body = api("viewer").get(f"/api/v1/jobs/{job.id}", headers=HOSTILE,
                             environ_overrides={"SCRIPT_NAME": "/queue"}).get_json()
    assert body["url"] == f"https://example.com/queue/api/v1/jobs/{job.id}"


def test_without_a_dashboard_url_the_request_names_the_host(api, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    body = api("viewer").get(f"/api/v1/jobs/{job.id}", headers={"Host": "q.internal"})
    assert body.get_json()["url"] == f"http://q.internal/api/v1/jobs/{job.id}"
