"""The digest's run listeners: how the host application reacts to runs (e.g. alerts)."""

import logging

from dashboard.queue import JobDigest, QueueSettings
from tests.support.factories import save_job


def test_listeners_hear_of_each_run_of_due_jobs_with_its_result(session, clock):
    heard = []
    settings = QueueSettings(run_listeners=(lambda digest, result: heard.append(
        (digest.session is session, result.jobs, result.failed)),))
    save_job(session, clock, ("test_not_applicable", {}))
    JobDigest(session, settings=settings, clock=clock).execute()
    JobDigest(session, settings=settings, clock=clock).execute()
    assert heard == [(True, 1, 1), (True, 0, 0)]


def test_a_failing_listener_is_logged_and_the_run_still_succeeds(session, clock, caplog):
    def broken(digest, result):
        raise RuntimeError("listener bug")

    save_job(session, clock, ("test_echo", {}))
    with caplog.at_level(logging.WARNING, logger="dashboard.digest"):
        result = JobDigest(session, settings=QueueSettings(run_listeners=(broken,)),
                           clock=clock).execute()
    assert result.succeeded == 1
    assert "after the run, " in caplog.text and "broken failed" in caplog.text
    assert "RuntimeError: listener bug" in caplog.text


def test_running_one_job_now_does_not_call_the_listeners(session, clock):
    heard = []
    settings = QueueSettings(run_listeners=(lambda digest, result: heard.append(result),))
    job = save_job(session, clock, ("test_echo", {}))
    JobDigest(session, settings=settings, clock=clock).set_job(job).execute()
    assert heard == []
