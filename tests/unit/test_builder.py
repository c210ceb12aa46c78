import json

import pytest
import sqlalchemy as sa

from dashboard.queue import JobBuilder
from dashboard.queue.jobs import request_builder
from dashboard.queue.jobs.models import Job, Request
from dashboard.queue.jobs.payload import canonical
from dashboard.queue.jobs.states import RequestState


def build(*requests, **job):
    builder = JobBuilder()
    if "relation_id" in job:
        builder.set_relation_id(job["relation_id"])
    created = builder.create()
    for type_code, payload in requests:
        created.request_builder().set_type_code(type_code).set_payload(payload).create()
    return created


def test_requests_keep_the_order_they_were_added_in():
    job = build(("a", {"n": 1}), ("b", {"n": 2}), ("c", {"n": 3}))
    assert [(r.type_code, r.position) for r in job.requests] == [("a", 0), ("b", 1), ("c", 2)]


def test_duplicate_requests_are_dropped():
    job = build(("a", {"x": 1, "y": 2}), ("a", {"y": 2, "x": 1}), ("a", {"x": 2}), ("b", {"x": 1}))
    assert [(r.type_code, r.payload) for r in job.requests] == [
        ("a", '{"x": 1, "y": 2}'), ("a", '{"x": 2}'), ("b", '{"x": 1}')]


@pytest.mark.parametrize(("payload", "message"), [
    ({"when": object()}, "not JSON-serialisable"),
    ({"amount": float("nan")}, "not JSON-serialisable"),
    ({1, 2}, "not JSON-serialisable"),
    # A lone surrogate (JSON's "\\ud800" decodes to one) is not UTF-8: no database takes it.
    ({"name": "\ud800"}, "not valid Unicode"),
])
def test_payload_that_json_cannot_hold_is_refused(payload, message):
    job = JobBuilder().create()
    with pytest.raises(ValueError, match=message):
        job.request_builder().set_type_code("a").set_payload(payload)


def test_payloads_are_written_as_given_by_one_encoder(monkeypatch):
    """Unicode as is, by encoders made once (json.dumps with options would build one per
    call, as dear as encoding a small payload), duplicates spotted as before."""
    made = []
    original = json.JSONEncoder.__init__
    monkeypatch.setattr(json.JSONEncoder, "__init__",
                        lambda self, *a, **kw: made.append(kw) or original(self, *a, **kw))
    job = JobBuilder().create()
    for n in range(3):
        job.request_builder().set_type_code("a").set_payload({"name": f"Zoë {n} ✓"}).create()
    job.request_builder().set_type_code("a").set_payload({"name": "Zoë 1 ✓"}).create()
    assert [r.payload for r in job.requests] == [f'{{"name": "Zoë {n} ✓"}}' for n in range(3)]
    assert made == []


@pytest.mark.parametrize(("type_code", "message"), [
    ("", "non-empty"),
    ("   ", "non-empty"),
    (None, "non-empty"),
    ("x" * 101, "at most 100"),
    ("a\x00b", "control characters"),
    ("a\ud800", "not valid Unicode"),
])
def test_bad_type_code_is_refused(type_code, message):
    with pytest.raises(ValueError, match=message):
        JobBuilder().create().request_builder().set_type_code(type_code)


def test_request_needs_type_and_payload():
    with pytest.raises(ValueError, match="type code"):
        JobBuilder().create().request_builder().set_payload({}).create()
    with pytest.raises(ValueError, match="payload"):
        JobBuilder().create().request_builder().set_type_code("a").create()


@pytest.mark.parametrize(("setter", "value", "message"), [
    ("set_relation_id", "", "relation_id"),
    ("set_relation_id", 1.5, "relation_id"),
    ("set_store_id", "1", "store_id"),
    ("set_store_id", True, "store_id"),
    ("set_source_id", "", "source_id"),
    # PostgreSQL refuses NUL in text; the column is 32 bits wide.
    ("set_relation_id", "cust\x00", "relation_id must not contain control characters"),
    ("set_source_id", "shop\n", "source_id must not contain control characters"),
    ("set_store_id", 2**31, "store_id must be between"),
    ("set_store_id", -(2**31) - 1, "store_id must be between"),
])
def test_bad_job_fields_are_refused(setter, value, message):
    with pytest.raises(ValueError, match=message):
        getattr(JobBuilder(), setter)(value)


def test_integer_relation_id_is_kept_as_text():
    assert JobBuilder().set_relation_id(42).create().relation_id == "42"


def test_the_duplicate_check_canonicalises_each_payload_once(monkeypatch):
    # Comparing each new request with every earlier one cost 500,500 canonical() calls
    # for 1,000 requests: enqueueing grew with the square of a job's size.
    calls = []
    monkeypatch.setattr(request_builder, "canonical", lambda text: calls.append(text)
                        or canonical(text))
    job = build(*[("a", {"n": n % 999}) for n in range(1000)])
    assert len(job.requests) == 999  # the 1,000th repeats the first
    assert len(calls) == 1000


def test_requests_appended_directly_still_count_as_duplicates():
    job = build(("a", {"n": 1}))
    job.requests.append(Request(type_code="b", payload='{"m": 2}', position=1,
                                state=RequestState.PENDING, attempts=0))
    kept = job.request_builder().set_type_code("b").set_payload({"m": 2}).create()
    assert kept is job.requests[1] and len(job.requests) == 2


def test_a_jobs_first_request_is_not_canonicalised_until_a_second_comes(monkeypatch):
    # Most jobs have one request: nothing to compare it with, so no canonical() for it.
    calls = []
    monkeypatch.setattr(request_builder, "canonical", lambda text: calls.append(text)
                        or canonical(text))
    job = build(("a", {"y": 2, "x": 1}))
    assert calls == []
    job.request_builder().set_type_code("a").set_payload({"x": 1, "y": 2}).create()
    assert len(job.requests) == 1  # still found as the first one's duplicate
    assert len(calls) == 2


def test_building_a_job_sets_its_values_without_the_orms_change_events():
    # The events cost most of building a job (docs/benchmarks.md); a save writes the job
    # with its own statements and needs none of them.
    fired = []

    def record(target, *args, **kwargs):
        fired.append(target)

    listened = [(Job.state, "set"), (Job.relation_id, "set"), (Job.requests, "append"),
                (Request.payload, "set"), (Request.job, "set")]
    for attribute, event in listened:
        sa.event.listen(attribute, event, record)
    try:
        job = build(("a", {"n": 1}), ("b", {"n": 2}), relation_id="r")
    finally:
        for attribute, event in listened:
            sa.event.remove(attribute, event, record)
    assert fired == []
    assert (job.relation_id, job.state, [r.type_code for r in job.requests]) == (
        "r", "pending", ["a", "b"])


def test_a_payload_changed_after_it_is_set_keeps_its_secret_masked_in_the_search_copy():
    payload = {"password": "pw-123", "n": 1}
    builder = JobBuilder().create().request_builder().set_type_code("a").set_payload(payload)
    payload.pop("password")  # the text was made already: the secret is in it
    request = builder.create()
    assert "pw-123" in request.payload
    assert "pw-123" not in request.payload_search
