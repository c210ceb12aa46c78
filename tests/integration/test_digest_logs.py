"""The digest logs each request's outcome, with the fields a log shipper indexes."""

import logging

from dashboard.queue import JobDigest
from tests.support.factories import save_job


def outcome_records(caplog):
    return [r for r in caplog.records if r.name == "dashboard.digest" and hasattr(r, "job_id")]


def test_each_request_outcome_is_one_record_with_its_fields(session, clock, caplog):
    caplog.set_level(logging.INFO, logger="dashboard.digest")
    ok = save_job(session, clock, ("test_echo", {}), ("test_echo", {"n": 2}))
    retrying = save_job(session, clock, ("test_boom", {}))
    failed = save_job(session, clock, ("test_not_applicable", {}))
    JobDigest(session, clock=clock).execute()

    # Jobs run side by side; a job's own records come in order.
    records = sorted(outcome_records(caplog), key=lambda r: r.job_id)
    seen = [(r.job_id, r.type_code, r.outcome, r.state, r.levelname) for r in records]
    assert seen == [
        (ok.id, "test_echo", "succeeded", "succeeded", "INFO"),
        (ok.id, "test_echo", "succeeded", "succeeded", "INFO"),
        (retrying.id, "test_boom", "failed", "retrying", "INFO"),
        (failed.id, "test_not_applicable", "failed", "failed", "WARNING"),
    ]
    assert [r.request_id for r in records[:2]] == [req.id for req in ok.requests]
    assert all(isinstance(r.duration, float) and r.duration >= 0 for r in records)
    assert records[0].getMessage() == (
        f"job {ok.id} request {ok.requests[0].id} (test_echo) succeeded in 0.000s")
    assert records[2].getMessage().endswith("retrying in 0.000s: RuntimeError: boom")
