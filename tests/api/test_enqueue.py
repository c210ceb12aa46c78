"""POST /api/v1/jobs: a job saved whole, or refused with every problem named and nothing saved."""

from __future__ import annotations

import io
import json

import pytest

from dashboard.queue import Job, JobState
from dashboard.queue.jobs.masking import MASK
from tests.support.api import counts, job_body

WHOLE = {"Prefer": "return=representation"}


@pytest.mark.all_databases
def test_a_job_is_enqueued_and_answered_with_its_id_and_url(api, session):
    response = api("enqueue").post("/api/v1/jobs", job_body(
        ("test_echo", {"customer_id": 42}), relation_id="cust-42", store_id=3,
        source_id="shop"))
    assert response.status_code == 201
    body = response.get_json()
    url = f"http://localhost/api/v1/jobs/{body['id']}"
    assert body == {"id": body["id"], "url": url, "state": "pending", "relation_id": "cust-42",
                    "store_id": 3, "source_id": "shop"}
    assert response.headers["Location"] == url
    assert "Preference-Applied" not in response.headers
    assert session.get(Job, body["id"]).relation_id == "cust-42"


def test_the_whole_job_is_the_answer_when_preferred(api, session):
    response = api("enqueue").post("/api/v1/jobs", job_body(
        ("test_echo", {"customer_id": 42, "password": "hunter2"}),
        ("test_flaky", {"fail_times": 1}),
        relation_id="cust-42", store_id=3, source_id="shop"),
        headers={"Prefer": "respond-async, return = representation; x=1"})
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=representation"
    body = response.get_json()
    assert response.headers["Location"] == body["url"] == f"http://localhost/api/v1/jobs/{body['id']}"
    assert (body["relation_id"], body["store_id"], body["source_id"], body["state"]) == (
        "cust-42", 3, "shop", "pending")
    assert [(r["position"], r["type_code"], r["state"]) for r in body["requests"]] == [
        (0, "test_echo", "pending"), (1, "test_flaky", "pending")]
    # The answer masks secrets, as the pages do; the stored payload keeps them for the digest.
    assert body["requests"][0]["payload"] == {"customer_id": 42, "password": MASK}
    stored = session.get(Job, body["id"])
    assert json.loads(stored.requests[0].payload)["password"] == "hunter2"
    assert stored.state == JobState.PENDING


def test_defaults(api):
    body = api().post("/api/v1/jobs", job_body(("test_echo", {}), relation_id="7"),
                      headers=WHOLE).get_json()
    assert (body["relation_id"], body["store_id"], body["source_id"]) == ("7", None, "default")


def test_relation_id_is_a_string_in_as_it_is_out(api, session):
    """One type in the description and in the answers: a number is refused, not turned
    into a string the client gets back as another type."""
    refused = api().post("/api/v1/jobs", job_body(("test_echo", {}), relation_id=7))
    assert refused.status_code == 422
    assert refused.get_json()["field"] == "relation_id"
    assert 'must be a string (e.g. "42") or null' in refused.get_json()["message"]
    assert counts(session) == (0, 0)


def test_whole_numbers_written_as_decimals_are_integers(api):
    body = api().post("/api/v1/jobs", job_body(("test_echo", {}), store_id=3.0),
                      headers=WHOLE).get_json()
    assert body["store_id"] == 3


@pytest.mark.all_databases
def test_an_identical_request_is_dropped_as_the_core_does(api):
    body = api().post("/api/v1/jobs", job_body(
        ("test_echo", {"a": 1, "b": 2}), ("test_echo", {"b": 2, "a": 1})),
        headers=WHOLE).get_json()
    assert len(body["requests"]) == 1


@pytest.mark.all_databases
def test_a_half_valid_job_is_not_saved_at_all(api, session):
    response = api().post("/api/v1/jobs", job_body(
        ("test_echo", {"n": 1}), ("no_such_type", {"n": 2}), ("test_echo", {"n": 3}),
        ("", {"n": 4})))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert body["field"] == "requests[1].type_code"
    assert [p["field"] for p in body["problems"]] == [
        "requests[1].type_code", "requests[3].type_code"]
    assert "no request type has the code 'no_such_type'" in body["message"]
    assert counts(session) == (0, 0)


NAN_BODY = '{"requests": [{"type_code": "test_echo", "payload": {"amount": NaN}}]}'
SURROGATE_BODY = '{"requests": [{"type_code": "test_echo", "payload": "\\ud800"}]}'


def nested(levels: int):
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(("body", "field", "words"), [
    ([], "body", "must be a JSON object"),
    ("text", "body", "must be a JSON object"),
    ({}, "requests", "is required"),
    ({"requests": []}, "requests", "at least one request"),
    ({"requests": {"type_code": "test_echo"}}, "requests", "must be a list"),
    ({"requests": ["test_echo"]}, "requests[0]", "must be an object"),
    ({**job_body(("test_echo", {})), "deadline": 1}, "deadline", "unknown field"),
    ({"requests": [{"type_code": "test_echo", "payload": {}, "delay": 5}]},
     "requests[0].delay", "unknown field"),
    (job_body(("", {})), "requests[0].type_code", "non-empty string"),
    (job_body(("x" * 101, {})), "requests[0].type_code", "at most 100 characters"),
    (job_body((5, {})), "requests[0].type_code", "non-empty string"),
    (job_body(("test\x00echo", {})), "requests[0].type_code", "control characters"),
    ({"requests": [{"type_code": "test_echo"}]}, "requests[0].payload", "is required"),
    (job_body(("test_echo", nested(65))), "requests[0].payload", "nests deeper than 64"),
    (job_body(("test_echo", {}), store_id="1"), "store_id", "must be an integer"),
    (job_body(("test_echo", {}), store_id=1.5), "store_id", "must be an integer"),
    (job_body(("test_echo", {}), store_id=True), "store_id", "must be an integer"),
    (job_body(("test_echo", {}), store_id=2**31), "store_id", "must be between"),
    (job_body(("test_echo", {}), relation_id=""), "relation_id", "1 to 255 characters"),
    (job_body(("test_echo", {}), relation_id="r" * 256), "relation_id", "1 to 255"),
    (job_body(("test_echo", {}), relation_id=["a"]), "relation_id", "must be a string"),
    (job_body(("test_echo", {}), relation_id="cust\x00"), "relation_id", "control characters"),
    (job_body(("test_echo", {}), source_id=""), "source_id", "non-empty string"),
    (job_body(("test_echo", {}), source_id=None), "source_id", "non-empty string"),
    (job_body(("test_echo", {}), source_id="s" * 101), "source_id", "at most 100"),
])
def test_bad_input_gets_422_naming_the_field(api, session, body, field, words):
    response = api().post("/api/v1/jobs", body)
    assert response.status_code == 422, response.get_data(as_text=True)
    found = response.get_json()
    assert response.mimetype == "application/json"
    assert (found["error"], found["field"]) == ("invalid", field)
    assert words in found["message"]
    assert counts(session) == (0, 0)


@pytest.mark.all_databases
@pytest.mark.parametrize(("raw", "field", "words"), [
    (NAN_BODY, "requests[0].payload", "not JSON-serialisable"),
    (SURROGATE_BODY, "requests[0].payload", "not valid Unicode"),
])
def test_json_that_no_database_can_store_gets_422(api, session, raw, field, words):
    response = api().post("/api/v1/jobs", data=raw,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert words in response.get_json()["message"]
    assert counts(session) == (0, 0)


HUGE = "9" * 5000  # past the 4,300 digits int() converts from text


@pytest.mark.parametrize(("raw", "field"), [
    (f'{{"store_id": {HUGE}, "requests": [{{"type_code": "test_echo", "payload": {{}}}}]}}',
     "store_id"),
    (f'{{"relation_id": -{HUGE}, "requests": [{{"type_code": "test_echo", "payload": 1}}]}}',
     "relation_id"),
    (f'{{"requests": [{{"type_code": "test_echo", "payload": {{"n": [1, {HUGE}]}}}}]}}',
     "requests[0].payload.n[1]"),
    (f"{HUGE}", "body"),
])
def test_a_number_of_5000_digits_gets_422_naming_its_field(api, session, raw, field):
    response = api().post("/api/v1/jobs", data=raw,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    assert "is a number of more than 4,300 digits" in response.get_json()["message"]
    assert HUGE not in response.get_data(as_text=True)
    assert counts(session) == (0, 0)


@pytest.mark.parametrize(("raw", "words"), [
    ('{"requests": [', "is not valid JSON: Expecting value: line 1 column 15"),
    ("{'requests': []}", "is not valid JSON"),
    (b'{"requests": "\xff"}', "is not UTF-8 text"),
    ("[" * 200_000, "nested too deeply"),
    ("", "is not valid JSON"),
])
def test_a_body_that_is_not_json_gets_400(api, session, raw, words):
    response = api().post("/api/v1/jobs", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad-request"
    assert response.get_json()["field"] == "body"
    assert words in response.get_json()["message"]
    assert counts(session) == (0, 0)


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded",
                                          "text/plain"])
def test_a_body_not_declared_as_json_gets_415(api, session, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = api().post("/api/v1/jobs", data=json.dumps(job_body(("test_echo", {}))),
                          headers=headers)
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.get_json()["message"]
    assert counts(session) == (0, 0)


def test_a_body_over_the_default_limit_of_1_mib_gets_413(api, session):
    padding = "x" * (1024 * 1024)
    response = api().post("/api/v1/jobs", job_body(("test_echo", {"padding": padding})))
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "too-large",
        "message": "the request body is too large for this API (API_MAX_BODY)"}
    assert counts(session) == (0, 0)


def test_a_chunked_body_over_the_limit_gets_413_not_a_truncated_read(app, api, session):
    app.config["API_MAX_BODY"] = 2048
    body = json.dumps(job_body(("test_echo", {"p": "x" * 4000}))).encode()
    response = api().post("/api/v1/jobs", input_stream=io.BytesIO(body),
                          headers={"Content-Type": "application/json",
                                   "Transfer-Encoding": "chunked"},
                          # as gunicorn says of a chunked body it ends itself
                          environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert counts(session) == (0, 0)


def test_the_limit_is_configurable(app, api, session):
    app.config["API_MAX_BODY"] = 2048
    small = api().post("/api/v1/jobs", job_body(("test_echo", {"p": "x" * 1500})))
    assert small.status_code == 201
    large = api().post("/api/v1/jobs", job_body(("test_echo", {"p": "x" * 2100})))
    assert large.status_code == 413
    assert counts(session) == (1, 1)


@pytest.mark.all_databases
def test_payloads_keep_unicode_and_big_numbers(api, session):
    payload = {"name": "Zoë 🚀 日本", "big": 2**70, "nothing": None, "list": [1.5, True]}
    body = api().post("/api/v1/jobs", job_body(("test_echo", payload)),
                      headers=WHOLE).get_json()
    assert body["requests"][0]["payload"] == payload
    session.rollback()
    assert json.loads(session.get(Job, body["id"]).requests[0].payload) == payload
