"""The header's search box: a job id, a unique key or a relation id goes straight to its
job or list; other text is searched for in payloads and errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobBuilder, JobRepository, JobState
from tests.support.factories import save_job
from tests.support.web import text


@pytest.fixture
def jobs(session, clock):
    plain = save_job(session, clock, ("test_echo", {"note": "blue whale"}), relation_id="cust-7")
    keyed = JobBuilder().set_unique_key("order-81723").create()
    keyed.request_builder().set_type_code("test_echo").set_payload({}).create()
    keyed = JobRepository(session, clock).save(keyed)
    session.rollback()
    return {"plain": plain.id, "keyed": keyed.id}


@pytest.mark.parametrize("typed", ["{plain}", "#{plain}", "  # {plain} "])
def test_a_job_id_goes_to_its_job(operator, jobs, typed):
    response = operator.get("/go", query_string={"q": typed.format(**jobs)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/jobs/{jobs['plain']}"


def test_a_unique_key_goes_to_its_job_active_or_finished(operator, jobs, session):
    response = operator.get("/go?q=order-81723")
    assert response.headers["Location"] == f"/jobs/{jobs['keyed']}"
    session.execute(sa.update(Job).where(Job.id == jobs["keyed"])
                    .values(state=JobState.COMPLETED))
    session.commit()
    assert operator.get("/go?q=order-81723").headers["Location"] == f"/jobs/{jobs['keyed']}"


def test_a_relation_id_goes_to_its_list(operator, jobs):
    response = operator.get("/go?q=cust-7")
    assert response.headers["Location"] == "/jobs?relation=cust-7"


def test_other_text_is_searched_for_and_says_so(operator, jobs):
    response = operator.get("/go?q=blue+whale")
    assert response.headers["Location"] == "/jobs?q=blue+whale"
    page = text(operator.get(response.headers["Location"]))
    assert "No job id, unique key or relation is &#39;blue whale&#39;" in page
    assert f'<tr data-job="{jobs["plain"]}"' in page


def test_a_number_that_is_no_job_is_tried_as_a_relation(operator, session, clock):
    save_job(session, clock, ("test_echo", {}), relation_id="424242")
    assert operator.get("/go?q=424242").headers["Location"] == "/jobs?relation=424242"


def test_bad_and_empty_input(operator, jobs):
    assert operator.get("/go?q=").headers["Location"] == "/jobs"
    too_long = operator.get("/go", query_string={"q": "x" * 201})
    assert too_long.status_code == 400
    assert "is longer than 200 characters" in text(too_long)
    huge = operator.get("/go", query_string={"q": "9" * 40})  # past any id: text
    assert huge.status_code == 303 and huge.headers["Location"].startswith("/jobs?q=")


def test_every_page_has_the_box_and_a_viewer_may_use_it(viewer, jobs):
    page = text(viewer.get("/audit"))
    assert '<form class="global-search" method="get" action="/go" role="search"' in page
    assert viewer.get(f"/go?q={jobs['plain']}").headers["Location"] == f"/jobs/{jobs['plain']}"
