"""Every page, for every role: what it shows, and what it refuses."""

from __future__ import annotations

import re

import pytest

from dashboard.queue import JobState
from dashboard.web.templating import SHOWN_MASK
from tests.support.factories import save_job
from tests.support.web import run_digest, text

ROLES = ["viewer", "operator", "admin"]


@pytest.fixture
def failed_job(session, clock):
    job = save_job(session, clock, ("test_echo", {"customer_id": 42, "password": "hunter2"}),
                   ("test_not_applicable", {"api_key": "k-123", "nested": {"Access_Token": "t"}}),
                   relation_id="cust-42", store_id=3, source_id="crm")
    run_digest(session, clock)
    return job


@pytest.mark.all_databases
@pytest.mark.parametrize("role", ROLES)
def test_overview_shows_counts_charts_failing_types_and_the_last_run(as_role, role, failed_job,
                                                                    session, clock):
    save_job(session, clock, ("test_echo", {}))
    page = text(as_role(role).get("/"))
    counts = dict(re.findall(r'data-state="(\w+)"[^>]*>\s*([\d,]+)', page))
    assert counts["failed"] == "1" and counts["pending"] == "1" and counts["completed"] == "0"
    assert "Oldest due job" in page and 'href="/jobs/' in page
    assert page.count("<svg") == 3 and "Requests per hour, last 7 days" in page
    assert "<code>test_not_applicable</code>" in page
    assert "1 jobs run: 1 requests succeeded, 1 failed, 0 retrying" in page


def test_overview_before_anything_happened_says_so(viewer):
    page = text(viewer.get("/"))
    assert "No digest has run yet" in page
    assert "No failed attempts in the last 24 hours." in page
    assert "none: nothing is waiting." in page


def test_overview_fragment_for_htmx_polling(viewer):
    response = viewer.get("/", headers={"HX-Request": "true"})
    page = text(response)
    assert page.lstrip().startswith('<div id="panels"') and "<html" not in page
    history = viewer.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in text(history)


@pytest.mark.parametrize("role", ROLES)
def test_job_list_shows_the_columns_newest_first(as_role, role, failed_job, session, clock):
    newer = save_job(session, clock, ("test_echo", {}), relation_id="cust-7")
    page = text(as_role(role).get("/jobs"))
    ids = [int(i) for i in re.findall(r'<tr data-job="(\d+)"', page)]
    assert ids == [newer.id, failed_job.id]
    row = page[page.index(f'data-job="{failed_job.id}"'):]
    row = row[:row.index("</tr>")]
    for cell in ("cust-42", ">3<", "crm", "failed", "test_echo", "test_not_applicable",
                 "customer is outside the synced groups", ">2026-01-05 09:00<",
                 'title="2026-01-05T09:00:00+00:00"'):
        assert cell in row, cell
    assert ('name="job"' in page) == (role != "viewer")


FILTERS = [
    ("state=failed", "failed"),
    ("type=test_not_applicable", "failed"),
    ("relation=cust-42", "failed"),
    ("store=3", "failed"),
    ("source=crm", "failed"),
    ("q=outside+the+synced", "failed"),        # failure reason
    ("q=CUSTOMER_ID", "failed"),               # payload text, any case
    ("from=2026-01-05&to=2026-01-05", "both"),
    ("to=2026-01-04", "none"),
    ("state=pending&relation=cust-7", "other"),
    ("q=100%25", "none"),                      # % is searched for, not a wildcard
]


@pytest.mark.all_databases
@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_job_list_filters(viewer, failed_job, session, clock, query, expected):
    other = save_job(session, clock, ("test_echo", {"n": 1}), relation_id="cust-7")
    page = text(viewer.get(f"/jobs?{query}"))
    ids = {int(i) for i in re.findall(r'<tr data-job="(\d+)"', page)}
    want = {"failed": {failed_job.id}, "other": {other.id}, "both": {failed_job.id, other.id},
            "none": set()}[expected]
    assert ids == want
    if not want:
        assert ("No " in page and "match" in page) or "No pending" in page


def test_filters_stay_in_the_form_and_the_links(viewer, failed_job):
    page = text(viewer.get("/jobs?state=failed&relation=cust-42"))
    assert '<option value="failed" selected>' in page
    assert 'name="relation" value="cust-42"' in page
    # The poll keeps the filter, and the newest job id the reader was shown.
    assert f'hx-get="/jobs?seen={failed_job.id}&amp;state=failed&amp;relation=cust-42"' in page


BAD_FILTERS = [
    ("state=broken", "state=&#39;broken&#39;: is not a job state"),
    ("store=abc", "store=&#39;abc&#39;: is not a store id"),
    ("from=yesterday", "from=&#39;yesterday&#39;: is not a date"),
    ("from=2026-02-01&to=2026-01-01", "from=&#39;2026-02-01&#39;: is not before"),
    ("colour=red", "colour=&#39;red&#39;: unknown filter"),
    ("type=no_such_type", "type=&#39;no_such_type&#39;: no request type has this code"),
    ("before=x", "before=&#39;x&#39;: is not a whole number"),
    ("state=failed&state=pending", "state=[&#39;failed&#39;, &#39;pending&#39;]: given more"),
]


@pytest.mark.parametrize(("query", "message"), BAD_FILTERS)
def test_bad_filter_gets_a_400_naming_the_value(viewer, query, message):
    response = viewer.get(f"/jobs?{query}")
    assert response.status_code == 400
    assert message in text(response)


@pytest.mark.all_databases
def test_keyset_pages_never_repeat_or_skip(viewer, session, clock):
    from dashboard.queue import JobRepository
    from tests.support.factories import make_job
    jobs = JobRepository(session, clock).save_many(
        [make_job(("test_echo", {"n": n})) for n in range(120)])
    seen, url = [], "/jobs"
    while url:
        page = text(viewer.get(url))
        seen += [int(i) for i in re.findall(r'<tr data-job="(\d+)"', page)]
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == sorted((job.id for job in jobs), reverse=True)
    assert len(seen) == 120


def test_job_list_fragment_for_htmx(viewer, failed_job):
    page = text(viewer.get("/jobs?state=failed", headers={"HX-Request": "true"}))
    assert page.lstrip().startswith('<div id="job-list"') and "<html" not in page


@pytest.mark.parametrize("role", ROLES)
def test_job_page_shows_requests_payloads_and_attempt_history(as_role, role, failed_job):
    page = text(as_role(role).get(f"/jobs/{failed_job.id}"))
    assert '&#34;customer_id&#34;: 42' in page            # pretty-printed, escaped
    assert "hunter2" not in page and "k-123" not in page  # secrets masked
    # (read as "masked" by a screen reader)
    assert f'&#34;password&#34;: &#34;{SHOWN_MASK}&#34;' in page
    assert f'&#34;Access_Token&#34;: &#34;{SHOWN_MASK}&#34;' in page
    assert '&#34;payload&#34;' in page                    # the echo's result
    assert "Attempt history" in page
    # A traceback names the server's files: operators and admins see it, viewers don't.
    assert ("<summary>Traceback</summary>" in page) == (role != "viewer")
    assert "customer is outside the synced groups" in page
    assert (">Retry</button>" in page) == (role != "viewer")


@pytest.mark.all_databases
def test_job_page_says_which_job_blocks_it(viewer, failed_job, session, clock):
    later = save_job(session, clock, ("test_echo", {}), relation_id="cust-42", source_id="crm")
    page = text(viewer.get(f"/jobs/{later.id}"))
    assert f'Blocked by job <a href="/jobs/{failed_job.id}">#{failed_job.id}</a>' in page


@pytest.mark.parametrize(("state", "polls"), [
    (JobState.PENDING, True),      # due: the digest may take it any minute
    (JobState.RUNNING, True),
    (JobState.RETRYING, True),     # its next attempt may fail it for good
    (JobState.PAUSED, False),      # only an operator changes these
    (JobState.COMPLETED, False),
    (JobState.FAILED, False),
    (JobState.CANCELLED, False),
])
def test_job_page_polls_while_the_job_may_change_by_itself(viewer, session, clock, state, polls):
    job = save_job(session, clock, ("test_echo", {}))
    session.get(type(job), job.id).state = state
    session.commit()
    assert ("data-poll hx-get" in text(viewer.get(f"/jobs/{job.id}"))) is polls


def test_unknown_job_gets_404(viewer):
    response = viewer.get("/jobs/987654")
    assert response.status_code == 404
    assert "Job #987654 does not exist" in text(response)


def test_payloads_that_look_like_html_are_shown_as_text(viewer, session, clock):
    evil = '<script>window.pwned=1</script>"><img src=x onerror=alert(1)>'
    job = save_job(session, clock, ("test_echo", {"note": evil}), relation_id=evil[:40])
    for url in (f"/jobs/{job.id}", "/jobs"):
        page = text(viewer.get(url))
        assert "<script>window" not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
        assert "\\u003c" not in page


def test_audit_page_for_each_role_and_its_filters(as_role, viewer, session):
    from dashboard import audit
    audit.record(session, "operator", "retry", [5], detail="by hand")
    audit.record(session, "admin", "bulk-cancel", [6, 7], filter={"state": "failed"})
    for role in ROLES:
        page = text(as_role(role).get("/audit"))
        assert "bulk-cancel" in page and "by hand" in page
        assert "{&#34;state&#34;: &#34;failed&#34;}" in page
    only = text(viewer.get("/audit?job=7"))
    assert "bulk-cancel" in only and "by hand" not in only
    assert viewer.get("/audit?job=x").status_code == 400
    assert viewer.get("/audit?who=x").status_code == 400


def test_users_page_is_for_admins_only(as_role):
    assert as_role("admin").get("/users").status_code == 200
    for role in ("viewer", "operator"):
        response = as_role(role).get("/users")
        assert response.status_code == 403
        assert "needs admin" in text(response)
