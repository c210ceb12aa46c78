"""Following a bulk action: its result is the list of exactly the jobs it changed
(``/jobs?audit=ID``), counted by state as the digest works on them; the audit log links
there; the confirmation says in words why its count is not the list's."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dashboard.audit import AuditEntry
from dashboard.queue import Job, JobState
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text


@pytest.fixture
def flaky_failures(session, clock):
    """Three failed jobs that succeed on their next attempt, and one that fails again;
    and a failed job outside the filter."""
    ids = [save_job(session, clock, ("test_flaky", {"fail_times": 0}), store_id=1).id
           for _ in range(3)]
    ids.append(save_job(session, clock, ("test_short_schedule", {}), store_id=1).id)
    outside = save_job(session, clock, ("test_flaky", {"fail_times": 1}), store_id=2).id
    session.execute(sa.update(Job).values(state=JobState.FAILED))  # as if out of attempts
    session.commit()
    return ids, outside


def retry_all(client, form: dict) -> str:
    """Retry all over ``form``'s filter, confirmed; the page the action ends on."""
    first = text(post(client, "/jobs/bulk", form))
    upto = re.search(r'name="upto" value="(\d+)"', first).group(1)
    done = post(client, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto})
    assert done.status_code == 303
    return done.headers["Location"]


def followed_counts(page: str) -> dict[str, int]:
    return {state: int(n.replace(",", "")) for state, n in re.findall(
        r'<span class="follow-count" data-state="(\w+)">.*?(\d[\d,]*)', page)}


def test_the_result_of_retry_all_is_the_list_of_its_jobs_followed_to_the_end(
        operator, flaky_failures, session, clock):
    ids, outside = flaky_failures
    location = retry_all(operator, {"action": "retry", "scope": "filter", "store": "1"})
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert location == f"/jobs?audit={entry.id}"
    page = text(operator.get(location))
    assert "4 job(s) retried." in page
    assert 'of the filter <a href="/jobs?store=1"><code>store=1</code></a>' in page
    assert sorted(int(i) for i in re.findall(r'<tr data-job="(\d+)"', page)) == ids
    assert followed_counts(page) == {"pending": 4}
    assert "The digest is still at work on 4" in page
    run_digest(session, clock)
    page = text(operator.get(location))
    assert followed_counts(page) == {"completed": 3, "retrying": 1}
    for _ in range(2):  # its 2nd and 3rd attempts, the last of test_short_schedule
        clock.advance(minutes=2)
        run_digest(session, clock)
    page = text(operator.get(location))
    assert followed_counts(page) == {"completed": 3, "failed": 1}
    assert "(failed again)" in page and "The digest is done with them." in page
    assert f'<tr data-job="{outside}"' not in page


def test_the_audit_log_links_to_the_same_list(operator, flaky_failures, session):
    location = retry_all(operator, {"action": "retry", "scope": "filter", "store": "1"})
    audit = text(operator.get("/audit"))
    assert f'<a href="{location}" title="these jobs as they are now">4</a>' in audit


def test_the_confirmation_says_why_its_count_is_not_the_lists(operator, flaky_failures,
                                                              session):
    ids, _ = flaky_failures
    session.execute(sa.update(Job).where(Job.id == ids[0]).values(state=JobState.RUNNING))
    session.commit()
    listed = text(operator.get("/jobs?store=1"))
    assert "<strong>4</strong> matching" in listed
    page = " ".join(text(post(operator, "/jobs/bulk", {"action": "retry", "scope": "filter",
                                                        "store": "1"})).split())
    assert "Retry 3 jobs?" in page
    assert ("The list counts 4: 1 of the 4 is running and can't be retried now; they are "
            "left as they are.") in page


def test_an_unknown_audit_entry_is_a_bad_filter(operator):
    response = operator.get("/jobs?audit=4242")
    assert response.status_code == 400
    assert "no audit entry has this id" in text(response)
