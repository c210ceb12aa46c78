"""Delete (administrators only, audited) on the job's page and in bulk, and the weight of
destruction: cancel or delete over more than TYPED_ABOVE jobs asks for their number."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dashboard.actions import bulk
from dashboard.audit import AuditEntry, AuditJob
from dashboard.queue import Attempt, Job, JobState, Request
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text


@pytest.fixture
def finished(session, clock):
    """A completed job, a failed one (with attempts) and a pending one."""
    done = save_job(session, clock, ("test_echo", {}))
    failed = save_job(session, clock, ("test_not_applicable", {}))
    run_digest(session, clock)
    waiting = save_job(session, clock, ("test_echo", {}))
    session.rollback()
    return {"completed": done.id, "failed": failed.id, "pending": waiting.id}


def rows_of(session, job_id: int) -> tuple[int, int, int]:
    """(jobs, requests, attempts) left of the job."""
    session.rollback()
    requests = sa.select(Request.id).where(Request.job_id == job_id)
    return (session.scalar(sa.select(sa.func.count()).where(Job.id == job_id)),
            session.scalar(sa.select(sa.func.count()).where(Request.job_id == job_id)),
            session.scalar(sa.select(sa.func.count()).where(Attempt.request_id.in_(requests))))


def test_an_administrator_deletes_a_finished_job_after_confirming(admin, finished, session):
    job_id = finished["failed"]
    assert rows_of(session, job_id) == (1, 1, 1)
    page = text(admin.get(f"/jobs/{job_id}"))
    assert '<button title="Delete the finished job' in page and 'class="danger">Delete' in page
    asked = text(post(admin, f"/jobs/{job_id}/delete"))
    assert f"Delete job #{job_id} for good?" in asked
    assert rows_of(session, job_id) == (1, 1, 1)  # asked, nothing done
    done = post(admin, f"/jobs/{job_id}/delete", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"] == "/jobs"
    assert rows_of(session, job_id) == (0, 0, 0)
    assert f"Job #{job_id} is deleted." in text(admin.get("/jobs"))
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.job_count) == ("admin", "delete", 1)
    assert session.scalars(sa.select(AuditJob.job_id)).all() == [job_id]
    # The audit log keeps it: the job's own audit filter still finds the entry.
    assert "delete" in text(admin.get(f"/audit?job={job_id}"))


def test_htmx_delete_sends_the_browser_to_the_list(admin, finished, session):
    response = post(admin, f"/jobs/{finished['completed']}/delete", {"confirm": "yes"},
                    headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/jobs"
    assert rows_of(session, finished["completed"])[0] == 0


def test_an_unfinished_job_is_not_deleted(admin, finished, session):
    job_id = finished["pending"]
    page = text(admin.get(f"/jobs/{job_id}"))
    assert ">Delete</button>" not in page
    post(admin, f"/jobs/{job_id}/delete", {"confirm": "yes"})
    assert rows_of(session, job_id) == (1, 1, 0)
    assert "Nothing changed: can&#39;t delete job" in text(admin.get(f"/jobs/{job_id}"))
    assert session.scalars(sa.select(AuditEntry)).all() == []


def test_an_operator_may_not_delete(operator, finished, session):
    page = text(operator.get(f"/jobs/{finished['failed']}"))
    assert ">Delete</button>" not in page and ">Retry</button>" in page
    response = post(operator, f"/jobs/{finished['failed']}/delete", {"confirm": "yes"})
    assert response.status_code == 403
    refused = post(operator, "/jobs/bulk", {"action": "delete", "scope": "filter",
                                            "state": "failed", "confirm": "yes"})
    assert refused.status_code == 403
    assert rows_of(session, finished["failed"])[0] == 1


def test_bulk_delete_over_a_filter_deletes_only_finished_jobs(admin, finished, session):
    form = {"action": "delete", "scope": "all"}
    page = text(post(admin, "/jobs/bulk", form))
    assert "Delete 2 jobs?" in page and "Deleting is final" in page
    assert 'class="confirm destructive"' in page
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    done = post(admin, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto})
    session.rollback()
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert done.headers["Location"] == f"/jobs?audit={entry.id}"
    assert (entry.action, entry.job_count) == ("bulk-delete", 2)
    assert rows_of(session, finished["completed"])[0] == 0
    assert rows_of(session, finished["failed"]) == (0, 0, 0)
    assert rows_of(session, finished["pending"])[0] == 1
    followed = text(admin.get(done.headers["Location"]))
    assert '<span class="follow-count" data-state="deleted">2 deleted</span>' in followed


@pytest.fixture
def typed_above_two(monkeypatch):
    monkeypatch.setattr(bulk, "TYPED_ABOVE", 2)


def test_cancel_over_many_jobs_asks_for_their_number(operator, session, clock,
                                                     typed_above_two):
    ids = [save_job(session, clock, ("test_echo", {}), store_id=5).id for _ in range(3)]
    form = {"action": "cancel", "scope": "filter", "store": "5"}
    page = text(post(operator, "/jobs/bulk", form))
    assert "type their number, <strong>3</strong>" in page
    assert 'name="typed"' in page and "required" in page
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    for typed in ("", "2", "three"):
        wrong = post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto,
                                              "typed": typed})
        assert wrong.status_code == 400
        assert "not 3: nothing changed" in text(wrong)
        session.rollback()
        assert {session.get(Job, i).state for i in ids} == {JobState.PENDING}
    done = post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto, "typed": "3"})
    assert done.status_code == 303
    session.rollback()
    assert {session.get(Job, i).state for i in ids} == {JobState.CANCELLED}


def test_a_few_jobs_or_a_harmless_action_need_no_typing(operator, session, clock,
                                                        typed_above_two):
    ids = [save_job(session, clock, ("test_echo", {}), store_id=5).id for _ in range(3)]
    pause = text(post(operator, "/jobs/bulk", {"action": "pause", "scope": "filter",
                                               "store": "5"}))
    assert 'name="typed"' not in pause and "Pause 3 jobs?" in pause
    few = text(post(operator, "/jobs/bulk", {"action": "cancel", "scope": "selected",
                                             "job": [str(i) for i in ids[:2]]}))
    assert 'name="typed"' not in few and "Cancel 2 jobs?" in few


def test_destructive_buttons_are_styled_apart(admin, finished):
    page = text(admin.get("/jobs"))
    assert 'class="danger">Cancel all</button>' in page
    assert 'class="danger">Delete all</button>' in page
    assert re.search(r'title="[^"]*">Retry all</button>', page)
