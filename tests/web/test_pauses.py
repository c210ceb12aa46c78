"""Pausing a request type from the overview: operators pause and resume, everyone sees
which types are paused, and a held job says why it waits, in the list and on its page."""

from __future__ import annotations

import re

from dashboard.queue.store import pauses
from tests.support.api import audit_rows
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text


def panel(page: str) -> str:
    return page.split('<section class="panel pauses"')[1].split("</section>")[0]


def test_an_operator_pauses_a_type_and_its_job_says_why_it_waits(operator, session, clock):
    answer = post(operator, "/types/pause", {"type_code": "test_echo"})
    assert answer.status_code == 303
    job = save_job(session, clock, ("test_echo", {}))
    run_digest(session, clock)

    overview = text(operator.get("/"))
    assert "Request type &#39;test_echo&#39; is paused" in overview  # the flash
    assert 'data-paused-type="test_echo"' in panel(overview)
    row = text(operator.get("/jobs")).split(f'<tr data-job="{job.id}"')[1].split("</tr>")[0]
    assert "paused type <code>test_echo</code>" in row
    page = " ".join(text(operator.get(f"/jobs/{job.id}")).split())
    assert ("Paused type: no digest starts this job while request type "
            "<code>test_echo</code>") in page

    resumed = post(operator, "/types/test_echo/resume")
    assert resumed.status_code == 303
    run_digest(session, clock)
    assert "paused type" not in text(operator.get(f"/jobs/{job.id}"))
    assert [row[1] for row in audit_rows(session)] == ["type-pause", "type-resume"]


def test_a_viewer_sees_the_pauses_but_may_not_change_them(viewer, session, clock):
    pauses.pause_type(session, "test_echo", by="cli:ops", now=clock.now)
    session.commit()
    shown = panel(text(viewer.get("/")))
    assert "test_echo" in shown and "cli:ops" in shown and "<form" not in shown
    assert post(viewer, "/types/test_echo/resume").status_code == 403
    assert pauses.type_codes(session) == {"test_echo"}


def test_pausing_an_unknown_type_is_a_404_page_that_names_it(operator, session):
    answer = post(operator, "/types/no_such_type/pause")
    assert answer.status_code == 404
    assert "No request type has the code &#39;no_such_type&#39;." in text(answer)
    assert pauses.type_codes(session) == set()


def test_the_pause_form_without_a_type_is_a_400(operator):
    answer = post(operator, "/types/pause", {"type_code": " "})
    assert answer.status_code == 400 and "Choose a request type" in text(answer)


def test_the_pause_form_offers_only_types_not_paused(operator, session, clock):
    pauses.pause_type(session, "test_echo", by="cli:ops", now=clock.now)
    session.commit()
    options = re.findall(r"<option>([^<]+)</option>", panel(text(operator.get("/"))))
    assert "test_echo" not in options and "test_boom" in options
