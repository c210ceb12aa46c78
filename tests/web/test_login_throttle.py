"""Failed logins: limited per account whatever the address, with a growing wait, and per
address across accounts; counted even while a digest holds SQLite."""

from __future__ import annotations

import sqlalchemy as sa

from dashboard.auth import throttle
from dashboard.auth.models import LoginFailure
from tests.support.busy import digest_running
from tests.support.web import PASSWORD, text
from tests.support.web import submit_login as login


def fail(app, name, times, address="10.0.0.1"):
    for _ in range(times):
        assert login(app.test_client(), name, "guess", address).status_code == 401


def test_another_address_cannot_keep_guessing_one_account(app, users):
    for number in range(throttle.FREE_TRIES):
        fail(app, "operator", 1, address=f"10.0.1.{number}")
    blocked = login(app.test_client(), "operator", PASSWORD, address="10.9.9.9")
    assert blocked.status_code == 429
    assert "Too many failed logins for operator. Try again in 1 minute." in text(blocked)
    assert blocked.headers["Retry-After"] == "30"
    # Other accounts, from the same addresses, are not held back.
    assert login(app.test_client(), "viewer", address="10.0.1.0").status_code == 302


def test_each_try_beyond_the_free_ones_waits_twice_as_long(app, users, clock):
    fail(app, "operator", throttle.FREE_TRIES)
    for wait in (30, 60, 120, 240):
        clock.advance(seconds=wait - 1)
        assert login(app.test_client(), "operator", "guess").status_code == 429
        clock.advance(seconds=1)
        assert login(app.test_client(), "operator", "guess").status_code == 401


def test_the_wait_stops_growing_at_fifteen_minutes(app, users, clock):
    fail(app, "operator", throttle.FREE_TRIES)
    for _ in range(12):
        clock.advance(minutes=15)
        assert login(app.test_client(), "operator", "guess").status_code == 401
    clock.advance(minutes=15)
    assert login(app.test_client(), "operator").status_code == 302


def test_an_unknown_name_is_throttled_as_a_real_one(app, users):
    fail(app, "nobody", throttle.FREE_TRIES)
    assert login(app.test_client(), "nobody", "guess").status_code == 429


def test_a_successful_login_forgets_earlier_failures(app, users):
    fail(app, "admin", throttle.FREE_TRIES - 1)
    assert login(app.test_client(), "admin").status_code == 302
    fail(app, "admin", throttle.FREE_TRIES)  # five more free tries
    assert login(app.test_client(), "admin").status_code == 429


def test_one_address_failing_on_many_accounts_is_held_back(app, users):
    for number in range(throttle.PER_ADDRESS):
        fail(app, f"user{number}", 1, address="10.0.0.7")
    blocked = login(app.test_client(), "viewer", address="10.0.0.7")
    assert blocked.status_code == 429
    assert "Too many failed logins from 10.0.0.7. Try again in 15 minutes." in text(blocked)
    assert login(app.test_client(), "viewer", address="10.0.0.8").status_code == 302


def test_the_address_limit_lifts_as_failures_leave_its_window(app, users, clock):
    for number in range(throttle.PER_ADDRESS):
        fail(app, f"user{number}", 1, address="10.0.0.7")
    clock.advance(minutes=15)
    assert login(app.test_client(), "viewer", address="10.0.0.7").status_code == 302


def test_behind_an_untrusted_proxy_thirty_bad_tries_lock_out_no_other_account(app, users,
                                                                           clock):
    # DASHBOARD_PROXIES unset: every request seems to come from the proxy, 10.0.0.99.
    for number in range(30):
        response = login(app.test_client(), "operator", "guess", address="10.0.0.99",
                         headers={"X-Forwarded-For": f"203.0.113.{number}"})
        assert response.status_code in (401, 429)
        clock.advance(seconds=20)
    assert login(app.test_client(), "operator", address="10.0.0.99").status_code == 429
    for name in ("viewer", "admin"):
        assert login(app.test_client(), name, address="10.0.0.99").status_code == 302


def test_every_failed_login_is_counted_while_a_digest_runs(app, users, session, db_url,
                                                           tmp_path):
    statuses = []
    with digest_running(session, db_url, tmp_path):
        for number in range(20):
            address = f"10.0.2.{number}"  # one try per address: no address limit
            statuses.append(login(app.test_client(), f"user{number % 3}", "guess",
                                  address).status_code)
            assert login(app.test_client(), "viewer", PASSWORD, address).status_code == 302
        # Counted before the digest stops: its clean-up empties PostgreSQL's tables.
        session.rollback()
        counted = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure))
    # Five password checks per account, then refusals (which check no password).
    assert statuses == [401] * 3 * throttle.FREE_TRIES + [429] * 5
    assert counted == 3 * throttle.FREE_TRIES
