"""Permanent failures (PermanentFailure, or a request type unknown here) are marked
"permanent" on the list, the job's page and Top errors, and Retry all over them asks once
more; a failure that ran out of its attempts is not marked."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dashboard.queries.permanence import is_permanent
from dashboard.queue import Job, JobState, Request, RequestState
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text

# Permanence is a rule in SQL too (queries/permanence.py): every test on all three.
pytestmark = pytest.mark.all_databases

MARK = '<span class="tag permanent"'


@pytest.fixture
def failures(session, clock):
    """A job that raised PermanentFailure, one that ran out of its 3 attempts, one of a
    type this installation does not know, and one still retrying."""
    permanent = save_job(session, clock, ("test_not_applicable", {}))
    exhausted = save_job(session, clock, ("test_short_schedule", {}))
    unknown = save_job(session, clock, ("test_echo", {}))
    retrying = save_job(session, clock, ("test_flaky", {"fail_times": 5}))
    session.execute(sa.update(Request).where(Request.job_id == unknown.id)
                    .values(type_code="gone_type"))
    session.commit()
    for _ in range(3):
        run_digest(session, clock)
        clock.advance(minutes=2)
    session.rollback()
    return {"permanent": permanent.id, "exhausted": exhausted.id, "unknown": unknown.id,
            "retrying": retrying.id}


def state_of(session, job_id: int) -> JobState:
    session.rollback()
    return session.scalar(sa.select(Job.state).where(Job.id == job_id))


def row(page: str, job_id: int) -> str:
    return re.search(rf'<tr data-job="{job_id}".*?</tr>', page, re.S).group(0)


def test_the_list_marks_permanent_failures_only(operator, failures, session):
    assert state_of(session, failures["exhausted"]) == JobState.FAILED
    assert state_of(session, failures["retrying"]) == JobState.RETRYING
    page = text(operator.get("/jobs"))
    assert MARK in row(page, failures["permanent"])
    assert MARK in row(page, failures["unknown"])  # no code to run it: it fails again
    assert MARK not in row(page, failures["exhausted"])
    assert MARK not in row(page, failures["retrying"])


def test_the_job_page_marks_the_permanent_request(operator, failures):
    assert MARK in text(operator.get(f"/jobs/{failures['permanent']}"))
    assert MARK not in text(operator.get(f"/jobs/{failures['exhausted']}"))


def test_top_errors_marks_a_permanent_group(operator, failures):
    page = text(operator.get("/"))
    group = re.search(r"<tr><td class=\"reason\"><a [^>]*>customer is outside the synced "
                      r"groups</a>.*?</tr>", page, re.S).group(0)
    assert MARK in group
    exhausted = re.search(r"<tr><td class=\"reason\"><a [^>]*>RuntimeError: always</a>.*?</tr>",
                          page, re.S).group(0)
    assert MARK not in exhausted


def test_the_rule_reads_the_types_own_max_attempts():
    assert is_permanent("test_short_schedule", RequestState.FAILED, 2)
    assert not is_permanent("test_short_schedule", RequestState.FAILED, 3)
    assert not is_permanent("test_not_applicable", RequestState.SUCCEEDED, 1)
    assert is_permanent("no_such_type", RequestState.RETRYING, 1)
    assert not is_permanent("test_flaky", RequestState.RETRYING, 1)


def test_retry_all_over_a_permanent_group_says_so_and_asks_once_more(operator, failures,
                                                                     session):
    form = {"action": "retry", "scope": "filter", "error": "customer is outside the synced "
                                                          "groups"}
    first = text(post(operator, "/jobs/bulk", form))
    assert "Retry 1 job?" in first
    assert "<strong>It failed permanently</strong>" in first
    upto = re.search(r'name="upto" value="(\d+)"', first).group(1)
    second = text(post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto}))
    assert "Retry 1 permanent failure anyway?" in second
    assert '<input type="hidden" name="permanent" value="yes">' in second
    assert state_of(session, failures["permanent"]) == JobState.FAILED  # asked, not done
    done = post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto,
                                         "permanent": "yes"})
    assert done.status_code == 303
    assert state_of(session, failures["permanent"]) == JobState.PENDING


def test_retry_all_over_transient_failures_asks_once(operator, failures, session):
    form = {"action": "retry", "scope": "filter", "error": "RuntimeError: always"}
    first = text(post(operator, "/jobs/bulk", form))
    assert "Retry 1 job?" in first and "failed permanently" not in first
    upto = re.search(r'name="upto" value="(\d+)"', first).group(1)
    done = post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto})
    assert done.status_code == 303
    assert state_of(session, failures["exhausted"]) == JobState.PENDING
