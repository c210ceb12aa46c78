"""A connector's declared limits: what it accepts, and what it refuses, naming the argument."""

import math

import pytest

from dashboard.app.config import ConfigError, from_environment
from dashboard.queue import Connector, QueueSettings


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rate_limit": 0}, "rate_limit must be a positive"),
    ({"rate_limit": -5}, "rate_limit must be a positive"),
    ({"rate_limit": math.inf}, "rate_limit must be a positive, finite"),
    ({"rate_limit": math.nan}, "rate_limit must be a positive"),
    ({"rate_limit": "20"}, "rate_limit .* got '20'"),     # a string from a config file
    ({"rate_limit": True}, "rate_limit .* got True"),     # bool is an int, not a rate
    ({"max_in_flight": 0}, "max_in_flight must be a whole number of calls, at least 1"),
    ({"max_in_flight": -1}, "max_in_flight .* got -1"),
    ({"max_in_flight": 2.5}, "max_in_flight .* got 2.5"),   # half a call can't be in flight
    ({"max_in_flight": "3"}, "max_in_flight .* got '3'"),
    ({"max_in_flight": False}, "max_in_flight .* got False"),
])
def test_bad_limits_are_refused_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Connector("crm", **kwargs)


@pytest.mark.parametrize(("name", "message"), [
    ("", "name: a connector's name must be a non-empty string"),
    ("   ", "name: a connector's name must be a non-empty string"),
    (None, "name: a connector's name must be a non-empty string"),
    ("x" * 101, "name: a connector's name is at most 100 characters"),
    ("crm\x00", "name: a connector's name must not contain control characters"),
])
def test_bad_names_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        Connector(name)


def test_limits_are_kept_and_say_whether_the_database_is_asked():
    both = Connector("crm", rate_limit=2.5, max_in_flight=3)
    assert (both.rate_limit, both.max_in_flight, both.limited) == (2.5, 3, True)
    assert Connector("crm", rate_limit=20).rate_limit == 20.0
    assert Connector("crm", max_in_flight=1).limited
    assert not Connector("crm").limited
    assert repr(both) == "Connector('crm', rate_limit=2.5, max_in_flight=3)"


@pytest.mark.parametrize("wait", [-1, math.inf, math.nan])
def test_a_bad_limit_wait_is_refused(wait):
    with pytest.raises(ValueError, match="limit_wait must be a number of seconds, 0 or more"):
        QueueSettings(limit_wait=wait)


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "QUEUE_LIMIT_WAIT must be at least 0"),
    ("a while", "QUEUE_LIMIT_WAIT must be a number"),
    ("inf", "QUEUE_LIMIT_WAIT must be a finite number"),
    ("nan", "QUEUE_LIMIT_WAIT must be a finite number"),
])
def test_a_bad_limit_wait_setting_stops_start_up(tmp_path, value, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(str(tmp_path), {"QUEUE_LIMIT_WAIT": value})


def test_the_limit_wait_setting_defaults_to_ten_seconds(tmp_path):
    assert from_environment(str(tmp_path), {})["QUEUE_LIMIT_WAIT"] == 10.0
