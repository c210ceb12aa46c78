"""GET /api/v1/jobs: the dashboard's filters and keyset cursor, refusals named."""

from __future__ import annotations

import pytest

from tests.support.factories import save_job
from tests.support.web import run_digest

pytestmark = pytest.mark.all_databases


@pytest.fixture
def jobs(session, clock):
    made = [save_job(session, clock, ("test_echo", {"n": n}), relation_id=f"cust-{n}",
                     store_id=n % 2) for n in range(5)]
    made.append(save_job(session, clock, ("test_not_applicable", {"email": "a@example.test"}),
                         relation_id="bad"))
    run_digest(session, clock)
    return made


def test_jobs_newest_first_with_their_summary(api, jobs):
    body = api("viewer").get("/api/v1/jobs").get_json()
    assert [j["id"] for j in body["jobs"]] == [j.id for j in reversed(jobs)]
    failed = body["jobs"][0]
    assert (failed["state"], failed["type_codes"], failed["attempts"], failed["last_error"]) == (
        "failed", ["test_not_applicable"], 1, "customer is outside the synced groups")
    assert failed["url"] == f"http://localhost/api/v1/jobs/{failed['id']}"
    assert (body["next_before"], body["next"]) == (None, None)


def test_filters_are_the_pages(api, jobs):
    client = api("viewer")
    assert [j["relation_id"] for j in client.get(
        "/api/v1/jobs?state=failed").get_json()["jobs"]] == ["bad"]
    assert {j["store_id"] for j in client.get("/api/v1/jobs?store=1").get_json()["jobs"]} == {1}
    assert len(client.get("/api/v1/jobs?type=test_echo&relation=cust-3").get_json()["jobs"]) == 1
    assert [j["relation_id"] for j in client.get(
        "/api/v1/jobs?q=EXAMPLE.test").get_json()["jobs"]] == ["bad"]


def test_the_cursor_walks_every_page_once(api, jobs):
    client = api("viewer")
    seen, url = [], "/api/v1/jobs?limit=2&state=completed"
    while url:
        body = client.get(url).get_json()
        assert len(body["jobs"]) <= 2
        seen += [j["id"] for j in body["jobs"]]
        url = body["next"]
        if url:
            assert "limit=2" in url and "state=completed" in url
            assert f"before={body['next_before']}" in url
    assert seen == [j.id for j in reversed(jobs[:5])]


@pytest.mark.parametrize(("query", "field", "words"), [
    ("state=done", "state", "is not a job state"),
    ("sate=failed", "sate", "unknown filter"),
    ("type=no_such_type", "type", "no request type has this code"),
    ("store=abc", "store", "is not a store id"),
    ("store=99999999999999999999", "store", "is not a store id"),
    ("before=0", "before", "is not a whole number from 1 to"),
    ("before=99999999999999999999", "before", "is not a whole number from 1 to"),
    ("before=1&before=2", "before", "more than once"),
    ("limit=0", "limit", "from 1 to 200"),
    ("limit=201", "limit", "from 1 to 200"),
    ("limit=ten", "limit", "from 1 to 200"),
    ("limit=%C2%B2", "limit", "from 1 to 200"),  # "²": isdigit() but not int()
    ("limit=%D9%A3", "limit", "from 1 to 200"),  # "٣": int() takes it as 3
    ("limit=" + "9" * 5000, "limit", "from 1 to 200"),  # past int()'s 4,300 digits
    ("from=yesterday", "from", "is not a date"),
    ("to=9999-12-31", "to", "between the years"),
    ("from=0001-01-01T00:00%2B01:00", "from", "between the years"),
    ("relation=a%00b", "relation", "NUL"),
    ("state=failed&state=pending", "state", "more than once"),
])
def test_a_bad_filter_gets_400_naming_it(api, jobs, query, field, words):
    response = api("viewer").get(f"/api/v1/jobs?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert (body["error"], body["field"]) == ("bad-request", field)
    assert words in body["message"]


def test_the_oldest_and_newest_dates_any_database_holds(api, jobs):
    body = api("viewer").get("/api/v1/jobs?from=1970-01-01&to=9999-12-30").get_json()
    assert len(body["jobs"]) == len(jobs)
