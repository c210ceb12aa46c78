"""Odd input gets a 4xx (or a command's usage error) naming what is wrong, never a 500 or
a traceback: ids past the id columns' range, other scripts' digits, huge numbers, and
payloads in the database that are not JSON."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.queue import Request
from tests.support.factories import save_job
from tests.support.web import csrf_token, post, run_digest, text

pytestmark = pytest.mark.all_databases

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("path", [f"/jobs/{HUGE}", "/jobs/2147483648", "/jobs/" + "9" * 5000])
def test_a_job_id_out_of_range_gets_404_saying_so(viewer, path):
    response = viewer.get(path)
    assert response.status_code == 404
    assert "ids are whole numbers from 1 to 2147483647" in text(response)
    assert "9" * 100 not in text(response)  # the value is not repeated back whole


@pytest.mark.parametrize("action", ["retry", "pause", "resume", "cancel", "run"])
def test_an_action_on_a_job_id_out_of_range_gets_404(operator, action):
    response = post(operator, f"/jobs/{HUGE}/{action}", {"confirm": "yes"})
    assert response.status_code == 404
    assert "ids are whole numbers from 1 to 2147483647" in text(response)


@pytest.mark.parametrize("action", ["role", "delete"])
def test_a_user_id_out_of_range_gets_404(admin, action):
    response = post(admin, f"/users/{HUGE}/{action}", {"role": "viewer"})
    assert response.status_code == 404


@pytest.mark.parametrize(("query", "parameter"), [
    ("store=%C2%B2", "store"),       # "²": str.isdigit() says yes, int() says no
    ("store=%D9%A3", "store"),       # "٣", an Arabic-Indic 3: int() takes it
    ("store=1_0", "store"),          # int() takes "1_0" as 10
    ("before=%C2%B2", "before"),
    ("before=" + "9" * 5000, "before"),  # int() refuses past 4,300 digits
    ("store=-" + "9" * 5000, "store"),
])
def test_odd_numbers_in_the_job_list_get_400_naming_the_parameter(viewer, query, parameter):
    response = viewer.get(f"/jobs?{query}")
    assert response.status_code == 400
    assert f"Bad filter: {parameter}=" in text(response)


def test_odd_numbers_in_a_bulk_form_get_400_naming_the_field(operator):
    response = post(operator, "/jobs/bulk", {"action": "retry", "scope": "selected",
                                             "job": "²"})
    assert response.status_code == 400
    assert "Bad filter: job=" in text(response)


@pytest.mark.parametrize(("args", "words"), [
    (["digest", "--job", HUGE], "--job"),
    (["jobs", "show", HUGE], "JOB_ID"),
    (["jobs", "retry", HUGE], "ID..."),
    (["jobs", "list", "--store", "²"], "--store"),
    (["jobs", "list", "--before", "9" * 5000], "--before"),
    (["prune", "--older-than", "999999999w"], "--older-than"),
    (["prune", "--older-than", "9" * 5000 + "d"], "--older-than"),
])
def test_odd_numbers_on_the_command_line_get_a_usage_error(runner, args, words):
    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_payload_with_a_5000_digit_number_on_the_command_line_is_refused(runner, session):
    result = runner.invoke(args=["enqueue", "test_echo", "--payload", "9" * 5000])
    assert result.exit_code == 2 and "--payload" in result.output, result.output
    assert "not valid JSON: Exceeds the limit" in result.output


@pytest.mark.parametrize("path", ["/audit?actor=a%00b", "/jobs?x%00=1"])
def test_a_nul_character_in_a_query_gets_400_naming_the_field(viewer, path):
    # PostgreSQL refuses NUL in any text: it was a 500 there.
    response = viewer.get(path)
    assert response.status_code == 400
    assert "contains a NUL character, which no field takes" in text(response)


def test_a_nul_character_in_a_form_gets_400_and_changes_nothing(admin, session):
    from dashboard.auth.models import User

    before = session.scalar(sa.select(sa.func.count()).select_from(User))
    response = post(admin, "/users", {"name": "eve\x00", "role": "viewer",
                                      "password": "a long enough password"})
    assert response.status_code == 400
    assert "name: contains a NUL character" in text(response)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_a_nul_character_in_a_login_name_gets_400(app):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"name": "a\x00b", "password": "x",
                                           "csrf_token": token})
    assert response.status_code == 400
    assert "name: contains a NUL character" in text(response)


@pytest.fixture
def not_json(session, clock):
    """A retrying job whose payload in the database is not JSON (written there by hand)."""
    job = save_job(session, clock, ("test_flaky", {"fail_times": 5, "password": "pw"}))
    run_digest(session, clock)
    session.execute(sa.update(Request).where(Request.job_id == job.id)
                    .values(payload='{"password": "pw", broken', result="not json either"))
    session.commit()
    return job


def test_a_stored_payload_that_is_not_json_is_shown_as_stored(viewer, runner, not_json):
    page = viewer.get(f"/jobs/{not_json.id}")
    assert page.status_code == 200
    assert "{&#34;password&#34;: &#34;pw&#34;, broken" in text(page)
    summary = runner.invoke(args=["alerts", "summary", "--dry-run"])
    assert summary.exit_code == 0, summary.output
    assert f"Job {not_json.id} (retrying)" in summary.output
    shown = runner.invoke(args=["jobs", "show", str(not_json.id), "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"not json either"' in shown.output
