"""Error texts built from payloads reach the terminal escaped: ``flask jobs list/show``,
``alerts summary --dry-run`` and the digest's log. Ids refuse C1 controls and bidi
overrides at enqueue (Python, HTTP API, CLI), naming the field."""

from __future__ import annotations

import json

import pytest

from dashboard.api import tokens
from dashboard.queue import JobBuilder
from tests.support.factories import save_job
from tests.support.web import run_digest

#: ESC clearing the screen, an OSC window title, a C1 CSI, a bidi override.
REASON = "refused \x1b[2J \x1b]0;pwned\x07 \x9b31m \u202eelif"
RAW = ("\x1b", "\x9b", "\u202e", "\x07")


@pytest.fixture
def failed(session, clock, capsys):
    job = save_job(session, clock, ("test_fails_with", {"reason": REASON}))
    run_digest(session, clock)
    return job


def assert_escaped(output: str) -> None:
    assert not [c for c in RAW if c in output], repr(output)
    assert "\\x1b[2J" in output and "\\u202eelif" in output


def test_the_digest_log_escapes_them(session, clock, capsys) -> None:
    save_job(session, clock, ("test_fails_with", {"reason": REASON}))
    run_digest(session, clock)
    assert_escaped(capsys.readouterr().err)


@pytest.mark.parametrize("args", [["jobs", "list"], ["jobs", "show", "{id}"]])
def test_jobs_list_and_show_escape_them(runner, failed, args) -> None:
    result = runner.invoke(args=[a.format(id=failed.id) for a in args])
    assert result.exit_code == 0, result.output
    assert_escaped(result.output)


def test_jobs_json_escapes_them_and_keeps_their_meaning(runner, failed) -> None:
    result = runner.invoke(args=["jobs", "show", str(failed.id), "--json"])
    assert result.exit_code == 0, result.output
    assert not [c for c in RAW if c in result.output]
    assert json.loads(result.output)["requests"][0]["last_error"] == REASON


def test_alerts_summary_dry_run_escapes_them(runner, failed) -> None:
    result = runner.invoke(args=["alerts", "summary", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert_escaped(result.output)


BAD_IDS = [("relation_id", "cust-\x9b1m"), ("relation_id", "cust-\u202e24"),
           ("source_id", "shop\x85"), ("source_id", "shop\u2066")]


@pytest.mark.parametrize(("field", "value"), BAD_IDS)
def test_python_api_refuses_c1_and_bidi_in_ids(field, value) -> None:
    with pytest.raises(ValueError, match=f"{field} must not contain control characters"):
        getattr(JobBuilder(), f"set_{field}")(value)


@pytest.mark.parametrize(("field", "value"), BAD_IDS)
def test_http_api_refuses_c1_and_bidi_in_ids(app, session, clock, field, value) -> None:
    _, secret = tokens.create(session, "feeder", "enqueue", now=clock.now)
    session.commit()
    response = app.test_client().post(
        "/api/v1/jobs", headers={"Authorization": f"Bearer {secret}"},
        json={field: value, "requests": [{"type_code": "test_echo", "payload": {}}]})
    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert "control characters" in response.get_json()["message"]


@pytest.mark.parametrize(("field", "value"), BAD_IDS)
def test_cli_enqueue_refuses_c1_and_bidi_in_ids(runner, field, value) -> None:
    option = "--" + field.replace("_", "-")
    result = runner.invoke(args=["enqueue", "test_echo", "--payload", "{}", option, value])
    assert result.exit_code == 2
    assert f"{field} must not contain control characters" in result.output
