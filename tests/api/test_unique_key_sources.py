"""Unique keys are each source's own: a key held by one source's job neither blocks nor
reveals anything to a caller enqueueing for another source, whatever the token's role and
scope, one job or a batch; a replay answers only what the token may read."""

from __future__ import annotations

import pytest

from dashboard.queue import JobBuilder, JobRepository
from tests.support.api import ApiClient, counts, job_body, scoped_token

# Unique keys are an index of each database's own: every test on all three.
pytestmark = pytest.mark.all_databases

KEY = "invoice:78"
TEN_YEARS = 10 * 365 * 24 * 3600


@pytest.fixture
def held(session, clock) -> int:
    """The id of source crm's job holding KEY, due in ten years."""
    job = (JobBuilder().set_source_id("crm").set_unique_key(KEY).set_delay(TEN_YEARS)
           .create())
    job.request_builder().set_type_code("test_echo").set_payload({"n": 1}).create()
    return JobRepository(session, clock).save(job).id


def caller(app, runner, api, role: str, scope: str) -> ApiClient:
    """A client of ``role``: limited to ``scope`` ("crm", "erp"), or of every source ("")."""
    return scoped_token(app, runner, role, scope) if scope else api(role)


def send(client: ApiClient, source: str, mode: str):
    body = job_body(("test_echo", {"n": 2}), source_id=source, unique_key=KEY)
    if mode == "batch":
        return client.post("/api/v1/jobs/batch", {"jobs": [body]})
    return client.post("/api/v1/jobs", body)


ROLES_THAT_ENQUEUE = pytest.mark.parametrize("role", ["enqueue", "operator"])
SCOPES = pytest.mark.parametrize("scope", ["", "erp"], ids=["every-source", "scoped"])
MODES = pytest.mark.parametrize("mode", ["single", "batch"])


@ROLES_THAT_ENQUEUE
@SCOPES
@MODES
def test_a_key_held_in_one_source_is_free_in_another(app, runner, api, session, held,
                                                      role, scope, mode):
    response = send(caller(app, runner, api, role, scope), "erp", mode)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    new = body["ids"][0] if mode == "batch" else body["id"]
    assert new != held
    if mode == "batch":
        assert body == {"ids": [new], "duplicates": []}
    else:
        assert body["source_id"] == "erp" and body["state"] == "pending"
    assert counts(session) == (2, 2)


@ROLES_THAT_ENQUEUE
@pytest.mark.parametrize("scope", ["", "crm"], ids=["every-source", "scoped"])
@MODES
def test_a_replay_in_the_keys_source_answers_what_the_token_may_read(
        app, runner, api, session, held, role, scope, mode):
    response = send(caller(app, runner, api, role, scope), "crm", mode)
    body = response.get_json()
    if mode == "batch":
        assert (response.status_code, body) == (201, {"ids": [held], "duplicates": [0]})
    elif role == "enqueue":  # GET /api/v1/jobs/ID is 403 for it: so is the document
        assert (response.status_code, body) == (200, {"id": held, "state": "pending"})
        assert response.headers["Location"].endswith(f"/api/v1/jobs/{held}")
    else:
        assert response.status_code == 200
        assert body["id"] == held
        assert [r["payload"] for r in body["requests"]] == [{"n": 1}]
    assert counts(session) == (1, 1)


@SCOPES
@MODES
def test_a_viewer_token_enqueues_nothing_and_learns_nothing(app, runner, api, session, held,
                                                            scope, mode):
    response = send(caller(app, runner, api, "viewer", scope), "crm", mode)
    assert response.status_code == 403
    assert str(held) not in response.get_data(as_text=True)
    assert counts(session) == (1, 1)


@MODES
def test_a_token_scoped_elsewhere_cant_probe_the_keys_source(app, runner, session, held,
                                                             mode):
    response = send(scoped_token(app, runner, "operator", "erp"), "crm", mode)
    assert response.status_code == 403
    assert str(held) not in response.get_data(as_text=True)
    assert counts(session) == (1, 1)


def test_one_batch_holds_a_key_once_per_source(api, session, held):
    response = api("operator").post("/api/v1/jobs/batch", {"jobs": [
        job_body(("test_echo", {"n": n}), source_id=source, unique_key=KEY)
        for n, source in enumerate(["erp", "shop", "erp", "crm"])]})
    assert response.status_code == 201
    ids = response.get_json()["ids"]
    assert ids[2] == ids[0] and ids[3] == held and len({*ids, held}) == 3
    assert response.get_json()["duplicates"] == [2, 3]
    assert counts(session) == (3, 3)
