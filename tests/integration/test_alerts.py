"""Failure alerts through a real SMTP server (aiosmtpd), on every database."""

import logging
import threading

import pytest
import sqlalchemy as sa

from dashboard.alerts import alert_status, send_failure_alerts
from dashboard.alerts.throttle import FAILURES, claim, ensure
from dashboard.app.extensions import db
from dashboard.queue import FailureAlert, JobDigest, JobRepository, QueueSettings
from dashboard.queue.jobs.masking import MASK
from dashboard.queue.operations import actions
from tests.support.alerting import DASHBOARD, RECIPIENTS, mail_config, run_digest
from tests.support.factories import make_job, save_job


@pytest.fixture
def config(config, smtp):
    return mail_config(config, smtp.port)


def fail_job(session, clock, reason="customer is outside the synced groups", **fields):
    return save_job(session, clock, ("test_fails_with", {"reason": reason}), **fields)


def test_a_failing_job_gives_exactly_one_email_with_its_details(session, clock, smtp):
    job = save_job(session, clock, ("test_echo", {}),
                   ("test_not_applicable", {"customer_id": 42, "password": "hunter2",
                                            "apiKey": "k-123", "auth": {"token": "t-9"}}),
                   relation_id="cust-42", store_id=3)
    request_id = job.requests[1].id
    run_digest(session, clock)

    assert len(smtp.received) == 1
    sent = smtp.received[0]
    assert sorted(sent.recipients) == sorted(RECIPIENTS)
    assert sent.mail_from == "queue@example.test"
    assert sent.subject == "AsyncQueue: 1 job failed"
    text, html = sent.body("plain"), sent.body("html")
    for body in (text, html):
        assert f"{DASHBOARD}/jobs/{job.id}" in body
        assert str(request_id) in body
        assert "test_not_applicable" in body
        assert "cust-42" in body
        assert "2026-01-05 09:00:00 UTC" in body
        assert "customer is outside the synced groups" in body
    assert f"request {request_id}, type test_not_applicable, relation cust-42, store 3" in text
    assert "after 1 attempt" in text
    assert f"<td>{request_id}</td>" in html and "<td>3</td>" in html
    assert '"customer_id": 42' in text and "&#34;customer_id&#34;: 42" in html
    # Payload secrets stay masked, at any depth.
    for secret in (b"hunter2", b"k-123", b"t-9"):
        assert secret not in sent.raw
    assert f'"password": "{MASK}"' in text and f'"token": "{MASK}"' in text

    status = alert_status(session)
    assert (status.last_sent_at, status.last_error, status.pending) == (clock.now, None, 0)


def test_a_request_that_exhausted_its_attempts_is_reported_once_when_it_fails(
        session, clock, smtp):
    job = save_job(session, clock, ("test_short_schedule", {}))
    for _ in range(3):
        run_digest(session, clock)
        clock.advance(seconds=61)
    # Retrying is not failing: only the final failure is reported.
    assert len(smtp.received) == 1
    text = smtp.received[0].body("plain")
    assert f"Job {job.id}:" in text
    assert "after 3 attempts" in text and "RuntimeError: always" in text


def test_runs_inside_the_interval_send_no_second_email(session, clock, smtp):
    first = fail_job(session, clock)
    run_digest(session, clock)
    clock.advance(seconds=60)
    second = fail_job(session, clock)
    run_digest(session, clock)
    clock.advance(seconds=60)
    run_digest(session, clock)

    assert len(smtp.received) == 1
    assert f"Job {first.id}:" in smtp.received[0].body("plain")
    # The second failure waits for the next allowed send; it is not dropped.
    assert alert_status(session).pending == 1
    assert second.id not in [a.job_id for a in session.scalars(
        sa.select(FailureAlert).where(FailureAlert.sent_at.is_not(None)))]


def test_a_failure_after_the_interval_gets_an_email_listing_only_it(session, clock, smtp):
    first = fail_job(session, clock)
    run_digest(session, clock)
    clock.advance(seconds=300)
    second = fail_job(session, clock)
    run_digest(session, clock)
    assert len(smtp.received) == 1
    clock.advance(seconds=601)
    run_digest(session, clock)

    assert len(smtp.received) == 2
    text, html = smtp.received[1].body("plain"), smtp.received[1].body("html")
    assert f"Job {second.id}:" in text and f"/jobs/{second.id}" in html
    assert f"/jobs/{first.id}\"" not in html and f"Job {first.id}:" not in text
    assert alert_status(session).pending == 0


def test_mail_server_down_the_digest_goes_on_and_the_alert_arrives_later(
        session, clock, smtp, caplog):
    smtp.stop()
    job = fail_job(session, clock)
    with caplog.at_level(logging.WARNING, logger="dashboard.alerts"):
        result = run_digest(session, clock)
    assert result.failed == 1
    assert (f"failure alert email not sent: could not connect to the mail server "
            f"127.0.0.1:{smtp.port}: connection refused") in caplog.text
    status = alert_status(session)
    assert status.last_sent_at is None and status.pending == 1
    assert "connection refused" in status.last_error
    assert status.last_error_at == clock.now

    smtp.start()
    clock.advance(seconds=60)
    run_digest(session, clock)
    assert len(smtp.received) == 1
    assert f"Job {job.id}:" in smtp.received[0].body("plain")
    status = alert_status(session)
    assert (status.last_sent_at, status.last_error, status.pending) == (clock.now, None, 0)


def test_120_failures_give_one_email_of_50_rows_and_a_count_of_the_rest(session, clock, smtp):
    jobs = JobRepository(session, clock).save_many(
        [make_job(("test_fails_with", {"reason": f"no such customer {n}"})) for n in range(120)])
    # One job at a time, so that they fail in the order of their ids.
    run_digest(session, clock, concurrency=1)

    assert len(smtp.received) == 1
    sent = smtp.received[0]
    assert sent.subject == "AsyncQueue: 120 jobs failed"
    text, html = sent.body("plain"), sent.body("html")
    assert text.count("\nJob ") == 50
    assert html.count(f'<a href="{DASHBOARD}/jobs/') == 50
    assert f"Job {jobs[49].id}:" in text and f"Job {jobs[50].id}:" not in text
    for body in (text, html):
        assert "and 70 more" in body
        assert f"{DASHBOARD}/jobs?state=failed" in body
    # The 70 were counted and linked in the accepted email: they are alerted too.
    assert alert_status(session).pending == 0


def test_html_in_a_reason_shows_as_text(session, clock, smtp):
    fail_job(session, clock, reason='<script>alert("x")</script> & <b>bold</b>')
    run_digest(session, clock)
    html = smtp.received[0].body("html")
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert '<script>alert("x")</script> & <b>bold</b>' in smtp.received[0].body("plain")


def test_no_line_of_the_message_exceeds_998_characters(session, clock, smtp):
    line = "ValueError: " + "response was " * 384 + "cut"
    assert len(line) > 5000
    fail_job(session, clock, reason=line + "\nTraceback (most recent call last): ...")
    run_digest(session, clock)

    sent = smtp.received[0]  # aiosmtpd refuses over-long lines, as strict servers do
    assert max(len(raw) for raw in sent.raw.split(b"\r\n")) <= 998
    for subtype in ("plain", "html"):
        assert line in sent.body(subtype)
        assert "Traceback" not in sent.body(subtype)  # the first line of the reason only


def test_two_digests_at_once_send_one_email(app, session, clock, smtp):
    fail_job(session, clock)
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()  # no listener
    assert alert_status(session).pending == 1
    session.commit()
    smtp.delay = 0.5
    barrier, outcomes = threading.Barrier(2), []

    def digest_end(worker):
        with app.app_context():
            own = sa.orm.Session(db.engine)
            try:
                barrier.wait()
                outcomes.append(send_failure_alerts(own, clock=clock, worker=worker))
            finally:
                own.close()

    threads = [threading.Thread(target=digest_end, args=(w,)) for w in ("host-a", "host-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["sent", "throttled"]
    assert len(smtp.received) == 1


def test_a_claim_left_by_a_dead_digest_lapses(session, clock):
    ensure(session, FAILURES)
    session.commit()

    def claimed(worker: str, now) -> bool:
        won = claim(session, FAILURES, worker, now=now, interval=900, hold=70)
        session.commit()  # the caller's: claim writes in its transaction
        return won

    assert claimed("dead", clock.now)
    assert not claimed("alive", clock.advance(seconds=60))
    assert claimed("alive", clock.advance(seconds=11))


def test_a_job_that_fails_again_after_an_operator_retry_is_reported_again(
        session, clock, smtp):
    job = fail_job(session, clock, reason="first round")
    run_digest(session, clock)
    clock.advance(seconds=60)
    actions.apply(session, "retry", job.id, clock.now)
    session.commit()
    clock.advance(seconds=60)
    run_digest(session, clock)  # fails again, inside the interval: waits
    assert len(smtp.received) == 1
    clock.advance(seconds=900)
    run_digest(session, clock)
    assert len(smtp.received) == 2
    assert "first round" in smtp.received[1].body("plain")
    assert f"Job {job.id}:" in smtp.received[1].body("plain")


def test_an_email_says_when_a_job_was_dealt_with_before_its_alert_went_out(
        session, clock, smtp):
    smtp.stop()
    job = fail_job(session, clock)
    run_digest(session, clock)
    actions.apply(session, "cancel", job.id, clock.now)
    session.commit()
    smtp.start()
    run_digest(session, clock)
    assert f"Job {job.id} (cancelled now):" in smtp.received[0].body("plain")
