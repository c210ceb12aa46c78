"""Bodies built to cost the server: refused for about what reading them costs, before
they are parsed or validated, with the reason named; a body within the limits still
gets every problem named by field."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.api import enqueue
from tests.support.api import counts, job_body
from tests.support.hostile import HOSTILE, LISTS


@pytest.fixture
def parses(monkeypatch) -> list[int]:
    """The sizes of the bodies the API parses as JSON."""
    parsed: list[int] = []
    real = enqueue._loads

    def loads(text: str) -> Any:
        parsed.append(len(text))
        return real(text)

    monkeypatch.setattr(enqueue, "_loads", loads)
    return parsed


def test_a_body_of_more_values_than_the_limit_is_refused_unparsed(api, session, parses):
    response = api().post("/api/v1/jobs/batch", data=HOSTILE,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["field"] == "body"
    assert response.get_json()["message"] == (
        f"body: holds {LISTS + 7:,} JSON values; a body may hold at most 100,000 "
        "(API_MAX_ELEMENTS)")
    assert parses == []
    assert counts(session) == (0, 0)


def test_the_limit_is_api_max_elements(app, api, session, parses):
    app.config["API_MAX_ELEMENTS"] = 200
    # The body, its list of requests, a request, its type code, its payload: 5, and the
    # payload's items.
    within = job_body(("test_echo", list(range(195))))
    assert api().post("/api/v1/jobs", within).status_code == 201
    over = job_body(("test_echo", list(range(196))))
    response = api().post("/api/v1/jobs", over)
    assert response.status_code == 413
    assert "holds 201 JSON values; a body may hold at most 200" in response.get_json()["message"]
    assert len(parses) == 1 and counts(session) == (1, 1)


def test_a_body_too_deep_for_any_job_is_refused_unparsed(api, session, parses):
    payload = "[" * 65 + "]" * 65
    body = '{"jobs": [{"requests": [{"type_code": "test_echo", "payload": ' + payload + "}]}]}"
    response = api().post("/api/v1/jobs/batch", data=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "body: is nested too deeply: more than 69 levels of arrays and objects")
    assert parses == [] and counts(session) == (0, 0)


def test_a_deep_payload_within_a_body_is_named(api, session):
    payload = "[" * 65 + "]" * 65
    body = '{"requests": [{"type_code": "test_echo", "payload": ' + payload + "}]}"
    response = api().post("/api/v1/jobs", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["field"] == "requests[0].payload"
    assert "nests deeper than 64 levels" in response.get_json()["message"]


def test_a_wide_payload_within_the_limits_is_saved_whole(api, session):
    payload = [[n, {"k": [n]}] for n in range(19_999)]  # 99,995 values in the payload
    body = job_body(("test_echo", payload))
    response = api().post("/api/v1/jobs", body, headers={
        "Prefer": "return=representation"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["requests"][0]["payload"] == payload
