"""``alerts summary``, ``alerts test``, and the digest command when the mail server is down."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import create_app
from dashboard.app.config import ConfigError
from tests.support.alerting import DASHBOARD, mail_config, run_digest
from tests.support.factories import save_job

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(config, smtp):
    return mail_config(config, smtp.port)


def unresolved_jobs(session, clock):
    failed = save_job(session, clock, ("test_not_applicable", {"secret": "s3"}),
                      relation_id="cust-1")
    retrying = save_job(session, clock, ("test_flaky", {"fail_times": 5}), store_id=7)
    save_job(session, clock, ("test_echo", {}))  # completes: not in the summary
    run_digest(session, clock)
    return failed, retrying


def test_summary_dry_run_prints_the_email_and_sends_nothing(runner, session, clock, smtp):
    failed, retrying = unresolved_jobs(session, clock)
    received_before = len(smtp.received)  # the digest's own failure alert
    result = runner.invoke(args=["alerts", "summary", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "To: ops@example.test, lead@example.test" in result.output
    assert "Subject: AsyncQueue summary: 1 failed, 1 retrying" in result.output
    assert f"Job {failed.id} (failed): {DASHBOARD}/jobs/{failed.id}" in result.output
    assert f"Job {retrying.id} (retrying): {DASHBOARD}/jobs/{retrying.id}" in result.output
    assert "attempt 1 timed out" in result.output and "store 7" in result.output
    assert "s3" not in result.output
    assert len(smtp.received) == received_before


def test_summary_sends_every_unresolved_job(runner, session, clock, smtp):
    failed, retrying = unresolved_jobs(session, clock)
    result = runner.invoke(args=["alerts", "summary"])
    assert result.exit_code == 0, result.output
    assert "sent 'AsyncQueue summary: 1 failed, 1 retrying'" in result.output
    summary = smtp.received[-1]
    html = summary.body("html")
    assert f"{DASHBOARD}/jobs/{failed.id}" in html and f"{DASHBOARD}/jobs/{retrying.id}" in html
    assert "<td>retrying</td>" in html and "<td>failed</td>" in html


def test_summary_with_nothing_unresolved_says_so(runner, smtp):
    result = runner.invoke(args=["alerts", "summary"])
    assert result.exit_code == 0, result.output
    assert "No failed or retrying jobs." in smtp.received[0].body("plain")


def test_test_message_is_sent(runner, smtp):
    result = runner.invoke(args=["alerts", "test"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "sent 'AsyncQueue: test message' to ops@example.test, lead@example.test via "
        f"127.0.0.1:{smtp.port}")
    assert smtp.received[0].subject == "AsyncQueue: test message"
    assert "The mail settings work" in smtp.received[0].body("plain")


def test_test_message_with_the_server_down_exits_1_saying_why(runner, smtp):
    smtp.stop()
    result = runner.invoke(args=["alerts", "test"])
    assert result.exit_code == 1
    assert (f"Error: email not sent: could not connect to the mail server 127.0.0.1:"
            f"{smtp.port}: connection refused") in result.output


def test_test_message_without_recipients_exits_1_saying_why(app, runner):
    app.config["QUEUE_ALERT_TO"] = []
    result = runner.invoke(args=["alerts", "test"])
    assert result.exit_code == 1
    assert "QUEUE_ALERT_TO is not set" in result.output


def flask(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "dashboard", *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=60)


def digest_env(db_url, port):
    return {"DATABASE_URL": db_url, "QUEUE_TYPES": "tests.support.types",
            "QUEUE_ALERT_TO": "ops@example.test", "MAIL_DEFAULT_SENDER": "queue@example.test",
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_TIMEOUT": "2",
            "DASHBOARD_URL": DASHBOARD}


@pytest.mark.slow
def test_digest_command_with_the_mail_server_down_exits_0_and_warns(
        app, session, clock, db_url, smtp):
    job = save_job(session, clock, ("test_not_applicable", {}))
    session.commit()
    smtp.stop()
    down = flask("digest", env=digest_env(db_url, smtp.port))
    assert down.returncode == 0, down.stderr
    assert "1 jobs run" in down.stdout
    assert (f"failure alert email not sent: could not connect to the mail server 127.0.0.1:"
            f"{smtp.port}: connection refused; a later digest run will try again "
            "(1 failed job waiting)") in down.stderr

    smtp.start()
    back = flask("digest", env=digest_env(db_url, smtp.port))
    assert back.returncode == 0, back.stderr
    assert len(smtp.received) == 1
    assert f"{DASHBOARD}/jobs/{job.id}" in smtp.received[0].body("plain")


@pytest.mark.slow
def test_an_invalid_recipient_is_refused_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="QUEUE_ALERT_TO: 'ops@example' is not an email"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/q.db",
                    "QUEUE_ALERT_TO": "lead@example.test, ops@example"})
    started = flask("digest", env={"DATABASE_URL": f"sqlite:///{tmp_path}/q.db",
                                   "QUEUE_ALERT_TO": "lead@example.test,not an address"})
    assert started.returncode != 0
    assert "QUEUE_ALERT_TO: 'not an address' is not an email address" in started.stderr
