"""A masked key's value never shows in clear: not in an error, a traceback, a result, an
alert email or a log line, on the pages, the API or the CLI. Viewers see a failure's
message, not its traceback."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from dashboard.api import tokens
from dashboard.queue.jobs.masking import MASK
from dashboard.queue.jobs.models import Attempt, FailureAlert, Request
from dashboard.web.templating import SHOWN_MASK
from tests.support.alerting import mail_config
from tests.support.alerting import run_digest as run_digest_with_alerts
from tests.support.factories import save_job
from tests.support.web import text

SECRET = "hunter2x"


@pytest.fixture
def config(config, smtp):
    return mail_config(config, smtp.port)


@pytest.fixture
def leaky(session, clock):
    """A job whose first request echoes its secret into its result, and whose second
    logs the secret and fails with it in its message (and so in its traceback)."""
    job = save_job(session, clock, ("test_echo", {"password": SECRET, "note": f"was {SECRET}"}),
                   ("test_leaks", {"password": SECRET}))
    run_digest_with_alerts(session, clock)
    return job


def api_get(app, session, clock, role: str, path: str):
    _, secret = tokens.create(session, f"t-{role}", role, now=clock.now)
    session.commit()
    return app.test_client().get(path, headers={"Authorization": f"Bearer {secret}"})


def test_the_digest_stores_and_logs_errors_with_the_secret_hidden(session, clock, caplog):
    caplog.set_level(logging.INFO)
    save_job(session, clock, ("test_leaks", {"password": SECRET}))
    run_digest_with_alerts(session, clock)
    session.rollback()
    error, trace = session.execute(sa.select(Attempt.error, Attempt.traceback)).one()
    assert error == f"ConnectionError: login refused for password '{MASK}'"
    assert SECRET not in trace and MASK in trace
    assert SECRET not in session.scalar(sa.select(Request.last_error))
    assert SECRET not in caplog.text
    assert f"logging in with {MASK}" in caplog.text  # the type's own log line
    assert f"password '{MASK}'" in caplog.text  # the digest's line of the outcome


def test_an_alert_email_hides_the_secret(session, clock, smtp, runner):
    save_job(session, clock, ("test_fails_with",
                              {"api_key": SECRET, "reason": f"key {SECRET} was refused"}))
    run_digest_with_alerts(session, clock)
    session.rollback()
    assert session.scalar(sa.select(FailureAlert.reason)) == f"key {MASK} was refused"
    [alert] = smtp.received
    assert f"key {MASK} was refused" in alert.body("plain")
    assert SECRET not in alert.body("plain") and SECRET not in alert.body("html")
    summary = runner.invoke(args=["alerts", "summary", "--dry-run"])
    assert summary.exit_code == 0, summary.output
    assert f"key {MASK} was refused" in summary.output and SECRET not in summary.output


@pytest.fixture
def stored_in_clear(leaky, session):
    """Texts stored before the digest hid secrets (or before a key was masked): the
    pages, the API and the CLI hide them as they show them."""
    session.execute(sa.update(Attempt).values(error=f"refused {SECRET}",
                                              traceback=f"Traceback: {SECRET}"))
    session.execute(sa.update(Request).where(Request.last_error.is_not(None))
                    .values(last_error=f"refused {SECRET}"))
    session.commit()
    return leaky


def test_the_job_page_hides_the_secret_and_shows_tracebacks_to_operators(
        stored_in_clear, operator, viewer) -> None:
    page = text(operator.get(f"/jobs/{stored_in_clear.id}"))
    assert SECRET not in page
    assert f"was {SHOWN_MASK}" in page  # the result that echoed it
    assert f"refused {SHOWN_MASK}" in page and "Traceback" in page
    page = text(viewer.get(f"/jobs/{stored_in_clear.id}"))
    assert SECRET not in page
    assert f"refused {SHOWN_MASK}" in page and "Traceback" not in page


def test_the_job_list_hides_the_secret_in_the_failure_reason(stored_in_clear, viewer) -> None:
    page = text(viewer.get("/jobs"))
    assert SECRET not in page
    assert f"refused {MASK}" in page


def test_the_api_hides_the_secret_and_shows_tracebacks_to_operators(
        app, session, clock, stored_in_clear) -> None:
    path = f"/api/v1/jobs/{stored_in_clear.id}"
    document = api_get(app, session, clock, "operator", path).get_json()
    assert SECRET not in json.dumps(document, ensure_ascii=False)
    history = document["requests"][1]["history"]
    assert history[0]["error"] == f"refused {MASK}"
    assert history[0]["traceback"] == f"Traceback: {MASK}"
    assert document["requests"][0]["result"]["payload"]["note"] == f"was {MASK}"
    document = api_get(app, session, clock, "viewer", path).get_json()
    assert SECRET not in json.dumps(document, ensure_ascii=False)
    assert document["requests"][1]["history"][0]["traceback"] is None


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_jobs_show_hides_the_secret(runner, stored_in_clear, as_json) -> None:
    result = runner.invoke(args=["jobs", "show", str(stored_in_clear.id),
                                 *(["--json"] if as_json else [])])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and MASK in result.output
