"""Behind a reverse proxy (DASHBOARD_PROXIES=10.0.0.9): its forwarded headers are believed,
nobody else's."""

from __future__ import annotations

import pytest

from dashboard.app.config import proxies
from dashboard.auth import throttle
from tests.support.web import submit_login as login
from tests.support.web import text

PROXY = "10.0.0.9"


@pytest.fixture
def config(config):
    return {**config, "DASHBOARD_PROXIES": proxies(PROXY)}


def spray(app, address, headers=lambda number: {}):
    """One failed try on each of PER_ADDRESS accounts, from ``address``."""
    for number in range(throttle.PER_ADDRESS):
        response = login(app.test_client(), f"user{number}", "guess", address,
                         headers=headers(number))
        assert response.status_code == 401


def test_a_spoofed_forwarded_for_straight_to_the_app_does_not_bypass_the_throttle(app,
                                                                                  users):
    def spoofed(number):
        return {"X-Forwarded-For": f"198.51.100.{number}"}
    spray(app, "192.0.2.50", spoofed)
    blocked = login(app.test_client(), "viewer", address="192.0.2.50",
                    headers=spoofed(99))
    assert blocked.status_code == 429
    assert "from 192.0.2.50" in text(blocked)


def test_behind_the_proxy_each_client_has_its_own_address(app, users):
    def via(client):
        return lambda number: {"X-Forwarded-For": f"1.2.3.{number}, {client}"}
    spray(app, PROXY, via("203.0.113.5"))
    blocked = login(app.test_client(), "viewer", address=PROXY, headers=via("203.0.113.5")(0))
    assert blocked.status_code == 429
    assert "from 203.0.113.5" in text(blocked)
    assert login(app.test_client(), "viewer", address=PROXY,
                 headers=via("203.0.113.6")(0)).status_code == 302


@pytest.mark.parametrize(("address", "secure"), [(PROXY, True), ("192.0.2.50", False)])
def test_https_is_believed_from_the_proxy_only(app, users, address, secure):
    response = login(app.test_client(), "viewer", address=address,
                     headers={"X-Forwarded-Proto": "https",
                              "Referer": "https://localhost/login"})
    assert response.status_code == 302, text(response)
    assert ("Secure" in response.headers["Set-Cookie"]) is secure
