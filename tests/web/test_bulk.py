"""Bulk actions over selected rows and over a filter: confirmation, cap, audit."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from dashboard.audit import AuditEntry, AuditJob
from dashboard.queue import Job, JobRepository, JobState
from tests.support.factories import make_job
from tests.support.web import post, run_digest, text

pytestmark = pytest.mark.all_databases


@pytest.fixture
def failed_jobs(session, clock):
    """Five failed jobs of store 1 and two pending ones of store 2."""
    JobRepository(session, clock).save_many(
        [make_job(("test_not_applicable", {"n": n}), store_id=1) for n in range(5)])
    run_digest(session, clock)
    JobRepository(session, clock).save_many(
        [make_job(("test_echo", {"n": n}), store_id=2) for n in range(2)])
    session.rollback()
    return list(session.scalars(sa.select(Job.id).where(Job.store_id == 1).order_by(Job.id)))


def states(session) -> dict[int, str]:
    session.rollback()
    return {i: s.value for i, s in session.execute(sa.select(Job.id, Job.state))}


def test_bulk_over_a_filter_confirms_with_the_count_then_acts(operator, failed_jobs, session):
    form = {"action": "retry", "scope": "filter", "store": "1"}
    confirm = post(operator, "/jobs/bulk", form)
    page = text(confirm)
    assert "Retry 5 jobs?" in page and '<strong class="bulk-count">5</strong>' in page
    assert "<code>store=1</code>" in page
    assert set(states(session).values()) == {"failed", "pending"}   # nothing yet
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    # The jobs raised PermanentFailure: the first "yes" asks once more, changing nothing.
    again = text(post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto}))
    assert "Retry 5 permanent failures anyway?" in again
    assert "<strong>All 5 failed permanently</strong>" in again
    assert set(states(session).values()) == {"failed", "pending"}
    done = post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto,
                                         "permanent": "yes"})
    assert {states(session)[i] for i in failed_jobs} == {"pending"}
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert done.status_code == 303 and done.headers["Location"] == f"/jobs?audit={entry.id}"
    assert (entry.actor, entry.action, entry.job_count) == ("operator", "bulk-retry", 5)
    assert json.loads(entry.filter) == {"store": "1"}
    assert sorted(session.scalars(sa.select(AuditJob.job_id))) == failed_jobs
    assert "5 job(s) retried." in text(operator.get(f"/jobs?audit={entry.id}"))


def test_a_confirmed_filter_leaves_out_jobs_that_arrived_after_it(operator, failed_jobs,
                                                                   session, clock):
    form = {"action": "cancel", "scope": "filter", "store": "1", "confirm": "yes",
            "upto": str(failed_jobs[-1])}
    newcomer = JobRepository(session, clock).save(make_job(("test_echo", {}), store_id=1))
    post(operator, "/jobs/bulk", form)
    after = states(session)
    assert {after[i] for i in failed_jobs} == {"cancelled"}
    assert after[newcomer.id] == "pending"


def test_bulk_over_a_filter_is_capped(app, operator, failed_jobs, session):
    app.config["DASHBOARD_BULK_LIMIT"] = 3
    form = {"action": "cancel", "scope": "filter", "state": "failed"}
    page = text(post(operator, "/jobs/bulk", form))
    assert "Cancel 3 jobs?" in page
    assert "More than 3 jobs match: only the newest 3 change now" in page
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto})
    after = states(session)
    assert [after[i] for i in failed_jobs] == ["failed"] * 2 + ["cancelled"] * 3


def test_bulk_on_selected_rows_counts_only_those_it_applies_to(operator, failed_jobs, session):
    pending = [i for i, s in states(session).items() if s == "pending"]
    chosen = [failed_jobs[0], failed_jobs[1], pending[0]]
    form = {"action": "retry", "scope": "selected", "job": [str(i) for i in chosen]}
    page = text(post(operator, "/jobs/bulk", form))
    assert '<strong class="bulk-count">2</strong> of the selected jobs will change' in page
    assert "1 selected job can't be retried" in page
    post(operator, "/jobs/bulk", {**form, "confirm": "yes", "permanent": "yes"})
    after = states(session)
    assert (after[failed_jobs[0]], after[failed_jobs[1]], after[failed_jobs[2]]) == (
        "pending", "pending", "failed")
    assert session.scalars(sa.select(AuditEntry.filter)).one() is None


def test_bulk_when_nothing_applies_says_so_and_changes_nothing(operator, failed_jobs, session):
    page = text(post(operator, "/jobs/bulk", {"action": "resume", "scope": "filter",
                                              "state": "failed"}))
    assert "Nothing to resume" in page and "Yes," not in page
    done = post(operator, "/jobs/bulk", {"action": "resume", "scope": "filter",
                                         "state": "failed", "confirm": "yes"},
                follow_redirects=True)
    assert "No job could be resumed: nothing changed." in text(done)
    assert session.scalars(sa.select(AuditEntry)).all() == []


def test_bulk_without_a_selection_asks_for_one(operator, failed_jobs):
    response = post(operator, "/jobs/bulk", {"action": "retry", "scope": "selected"},
                    follow_redirects=True)
    assert "Select at least one job first" in text(response)


@pytest.mark.parametrize(("form", "message"), [
    ({"action": "explode", "scope": "filter"}, "Unknown bulk action &#39;explode&#39;"),
    ({"action": "retry", "scope": "everything"}, "unknown scope &#39;everything&#39;"),
    ({"action": "retry", "scope": "filter", "state": "gone"}, "state=&#39;gone&#39;"),
    ({"action": "retry", "scope": "selected", "job": "x"}, "job=&#39;x&#39;"),
])
def test_bad_bulk_requests_get_400(operator, form, message):
    response = post(operator, "/jobs/bulk", form)
    assert response.status_code == 400
    assert message in text(response)


def test_viewers_cannot_act_in_bulk(viewer, failed_jobs, session):
    response = post(viewer, "/jobs/bulk", {"action": "cancel", "scope": "filter",
                                           "confirm": "yes"})
    assert response.status_code == 403
    assert "cancelled" not in states(session).values()


def test_bulk_needs_the_csrf_token(operator, failed_jobs, session):
    response = operator.post("/jobs/bulk", data={"action": "cancel", "scope": "filter",
                                                 "confirm": "yes"})
    assert response.status_code == 400
    assert "cancelled" not in states(session).values()


def test_the_list_offers_bulk_forms_to_operators_only(operator, viewer, failed_jobs):
    assert "Retry all</button>" in text(operator.get("/jobs?state=failed"))
    unfiltered = text(operator.get("/jobs"))  # no filter: the form says "every job"
    assert '<input type="hidden" name="scope" value="all">' in unfiltered
    assert "<span>Every job (up to 10,000):</span>" in unfiltered
    assert "Retry all</button>" not in text(viewer.get("/jobs?state=failed"))
    assert JobState.FAILED.value in text(viewer.get("/jobs?state=failed"))


@pytest.mark.parametrize("blank", [{}, {"state": "", "q": " "}])
def test_an_empty_filter_without_the_all_scope_is_refused_and_changes_nothing(
        operator, failed_jobs, session, blank):
    before = states(session)
    for confirm in ({}, {"confirm": "yes", "upto": str(failed_jobs[-1])}):
        response = post(operator, "/jobs/bulk",
                        {"action": "cancel", "scope": "filter", **blank, **confirm})
        assert response.status_code == 400
        assert ("Nothing changed: the filter is empty, so it would act on every job; to act "
                "on every job, choose the scope &#39;all&#39;") in text(response)
    assert states(session) == before
    assert session.scalars(sa.select(AuditEntry)).all() == []


def test_the_all_scope_confirms_with_the_count_then_acts_on_every_job(operator, failed_jobs,
                                                                      session):
    form = {"action": "pause", "scope": "all"}
    page = text(post(operator, "/jobs/bulk", form))
    assert "Pause 2 jobs?" in page  # the two pending ones: failed jobs can't be paused
    assert "<strong>Every job</strong> (no filter) that can be paused now" in page
    assert '<input type="hidden" name="scope" value="all">' in page
    assert set(states(session).values()) == {"failed", "pending"}  # nothing yet
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto})
    assert sorted(states(session).values()) == ["failed"] * 5 + ["paused"] * 2
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.job_count) == ("bulk-pause", 2)


def test_the_all_scope_with_a_filter_is_refused(operator, failed_jobs, session):
    before = states(session)
    response = post(operator, "/jobs/bulk", {"action": "cancel", "scope": "all", "store": "1",
                                             "confirm": "yes"})
    assert response.status_code == 400
    assert "the scope &#39;all&#39; acts on every job, but a filter is given (store)" in text(
        response)
    assert states(session) == before
