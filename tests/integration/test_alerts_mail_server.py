"""Mail servers that misbehave, and alerts turned off: the digest is never held up."""

import logging
import time

import pytest

from dashboard.alerts import alert_status
from tests.support.alerting import mail_config, run_digest
from tests.support.factories import save_job
from tests.support.smtp import SilentServer, TricklingServer

TIMEOUT = 1.5
#: A digest held up by the mail server takes TIMEOUT and a little on an idle machine, and
#: more under load: this bound tells "held for the timeout" from "held for ever", and the
#: server's own counts tell one try from several.
HELD_AT_MOST = 10 * TIMEOUT


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def config(config, silent):
    return mail_config(config, silent.port, MAIL_TIMEOUT=TIMEOUT)


def test_a_server_that_never_answers_holds_the_digest_at_most_mail_timeout(
        session, clock, silent, caplog):
    save_job(session, clock, ("test_not_applicable", {}))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dashboard.alerts"):
        result = run_digest(session, clock)
    elapsed = time.monotonic() - started

    assert result.failed == 1
    assert TIMEOUT <= elapsed < HELD_AT_MOST
    assert silent.calls() == 1
    assert (f"failure alert email not sent: the mail server 127.0.0.1:{silent.port} did not "
            f"answer within {TIMEOUT:g}s") in caplog.text
    status = alert_status(session)
    assert status.pending == 1 and "did not answer" in status.last_error


def test_a_server_that_answers_each_step_slowly_is_cut_off_at_mail_timeout(
        app, session, clock, caplog):
    # Seven steps of 1.05 s: 7.35 s in all, each in time.
    trickling = TricklingServer(pause=TIMEOUT * 0.7)
    app.config["MAIL_PORT"] = app.extensions["mail"].port = trickling.port
    try:
        save_job(session, clock, ("test_not_applicable", {}))
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="dashboard.alerts"):
            run_digest(session, clock)
        elapsed = time.monotonic() - started
    finally:
        trickling.close()
    # Greeting, EHLO, MAIL, RCPT x2, DATA...: each in time, all together far too slow.
    # The greeting comes at 1.05 s, the answer to EHLO would at 2.1 s: the client has
    # hung up by then, whatever the load.
    assert trickling.commands <= 1
    assert elapsed < HELD_AT_MOST
    assert "did not answer within" in caplog.text
    assert alert_status(session).pending == 1


def test_without_recipients_alerts_are_off_and_failures_wait(app, session, clock, silent):
    app.config["QUEUE_ALERT_TO"] = []
    save_job(session, clock, ("test_not_applicable", {}))
    assert run_digest(session, clock).failed == 1
    assert silent.calls() == 0
    status = alert_status(session)
    assert (status.pending, status.last_error, status.last_sent_at) == (1, None, None)
