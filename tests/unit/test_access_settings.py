"""Which forwarded address is the client's; DASHBOARD_PROXIES and the session lifetimes."""

from __future__ import annotations

import ipaddress

import pytest

from dashboard.app.config import ConfigError, from_environment, proxies
from dashboard.web.proxies import TrustedProxies, client_address

OURS = TrustedProxies(None, proxies("10.0.0.5, 192.168.0.0/24, fd00::/8"))


@pytest.mark.parametrize(("peer", "header", "client"), [
    # No header: the proxy itself.
    ("10.0.0.5", "", "10.0.0.5"),
    # One client behind our proxy.
    ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
    # The client made up the left part: our proxy appended the address it saw.
    ("10.0.0.5", "1.2.3.4, 203.0.113.7", "203.0.113.7"),
    # Two of our proxies in a row: skipped, right to left.
    ("10.0.0.5", "1.2.3.4, 203.0.113.7, 192.168.0.9", "203.0.113.7"),
    # Garbage appended before our proxy is no proxy of ours: it is where to stop.
    ("10.0.0.5", "203.0.113.7, not-an-ip", "not-an-ip"),
    # Only our proxies: the leftmost.
    ("10.0.0.5", "192.168.0.3, 192.168.0.9", "192.168.0.3"),
    ("fd00::1", "2001:db8::7", "2001:db8::7"),
])
def test_the_client_is_the_first_address_from_the_right_that_is_not_ours(peer, header,
                                                                          client):
    assert client_address(peer, header, OURS.trusted) == client


@pytest.mark.parametrize(("raw", "expected"), [
    ("", ()),
    ("0", ()),  # the old "no proxy"
    ("127.0.0.1", (ipaddress.ip_network("127.0.0.1/32"),)),
    (" 10.0.0.0/8 , ::1 ", (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))),
])
def test_proxies_are_addresses_or_networks(raw, expected):
    assert proxies(raw) == expected


@pytest.mark.parametrize(("raw", "words"), [
    ("1", "the proxies' addresses, not how many there are"),
    ("2", "e.g. DASHBOARD_PROXIES=127.0.0.1"),
    ("10.0.0.1, proxy.internal", "'proxy.internal' is not an IP address or network"),
    ("10.0.0.300", "is not an IP address"),
])
def test_a_bad_proxy_setting_is_refused_naming_it(raw, words):
    with pytest.raises(ConfigError, match="DASHBOARD_PROXIES") as refused:
        proxies(raw)
    assert words in str(refused.value)


def test_sessions_last_twelve_hours_and_one_idle_hour_by_default(tmp_path):
    config = from_environment(str(tmp_path), {"SECRET_KEY": "x" * 32})
    assert config["DASHBOARD_SESSION_HOURS"] == 12
    assert config["DASHBOARD_SESSION_IDLE_MINUTES"] == 60
    assert config["DASHBOARD_PROXIES"] == ()


@pytest.mark.parametrize(("name", "value", "words"), [
    ("DASHBOARD_SESSION_HOURS", "twelve", "must be a number"),
    ("DASHBOARD_SESSION_HOURS", "0", "must be at least"),
    ("DASHBOARD_SESSION_IDLE_MINUTES", "-5", "must be at least"),
])
def test_a_bad_session_lifetime_is_refused_naming_it(tmp_path, name, value, words):
    with pytest.raises(ConfigError, match=name) as refused:
        from_environment(str(tmp_path), {"SECRET_KEY": "x" * 32, name: value})
    assert words in str(refused.value)
