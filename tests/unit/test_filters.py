from datetime import UTC, datetime

import pytest

from dashboard.app.config import from_environment
from dashboard.queries.filters import BadFilter, JobFilter, parse_filter, parse_id
from dashboard.queue import JobState


def test_empty_and_blank_values_mean_no_filter():
    assert parse_filter({}) == JobFilter()
    assert parse_filter({"state": "", "q": "  "}).is_empty()


def test_every_filter():
    found = parse_filter({"state": "FAILED", "type": "crm_sync", "relation": "cust-1",
                          "store": "3", "source": "crm", "from": "2026-01-02",
                          "to": "2026-01-05", "q": "timeout"})
    assert found == JobFilter(
        state=JobState.FAILED, type_code="crm_sync", relation_id="cust-1", store_id=3,
        source_id="crm", created_from=datetime(2026, 1, 2, tzinfo=UTC),
        created_to=datetime(2026, 1, 6, tzinfo=UTC), search="timeout")


@pytest.mark.parametrize("params", [
    {"state": "failed", "store": "3"},
    {"from": "2026-01-02", "to": "2026-01-05"},
    {"from": "2026-01-02T10:30:00", "to": "2026-01-05T00:00:00"},
    {"q": "ab cde", "relation": "x/y"},
])
def test_to_params_gives_the_same_filter_back(params):
    found = parse_filter(params)
    assert parse_filter(found.to_params()) == found


def test_times_are_utc_and_offsets_are_converted():
    found = parse_filter({"from": "2026-01-02T10:00+02:00"})
    assert found.created_from == datetime(2026, 1, 2, 8, tzinfo=UTC)


@pytest.mark.parametrize(("params", "parameter"), [
    ({"state": "done"}, "state"),
    ({"store": "1.5"}, "store"),
    ({"from": "2026-13-01"}, "from"),
    ({"to": "soon"}, "to"),
    ({"q": "x" * 201}, "q"),
    ({"relation": "r" * 256}, "relation"),
    ({"sate": "failed"}, "sate"),
    ({"state": ["failed", "pending"]}, "state"),
    ({"from": "2026-01-05", "to": "2026-01-04"}, "from"),
    # Values no database column holds: refused here, not a server error there.
    ({"store": str(2**31)}, "store"),
    ({"store": "-99999999999999999999"}, "store"),
    ({"relation": "cust\x00"}, "relation"),
    ({"q": "\x00"}, "q"),
    # No three letters or digits in a row: no index could look it up.
    ({"q": "ab"}, "q"),
    ({"q": "%_\\"}, "q"),
    ({"to": "9999-12-31"}, "to"),
    ({"from": "0001-01-01T00:00+01:00"}, "from"),
    ({"from": "1000-01-01"}, "from"),
])
def test_bad_values_name_the_parameter(params, parameter):
    with pytest.raises(BadFilter) as caught:
        parse_filter(params)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}=")


def test_extra_parameters_are_left_to_the_caller():
    assert parse_filter({"before": "5"}, extra=("before",)) == JobFilter()


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), (" 12 ", 12)])
def test_ids(raw, expected):
    assert parse_id("before", raw) == expected


@pytest.mark.parametrize("raw", ["x", "0", "-3", "1e3", str(2**31), "9" * 30])
def test_bad_ids(raw):
    with pytest.raises(BadFilter, match="before="):
        parse_id("before", raw)


def test_dashboard_settings_from_the_environment(tmp_path):
    config = from_environment(str(tmp_path), {"QUEUE_MASKED_KEYS": "PIN, cvv,",
                                              "DASHBOARD_BULK_LIMIT": "500"})
    assert config["QUEUE_MASKED_KEYS"] == ("pin", "cvv")
    assert config["DASHBOARD_BULK_LIMIT"] == 500
    defaults = from_environment(str(tmp_path), {})
    assert defaults["QUEUE_MASKED_KEYS"] == ("password", "token", "secret", "api_key")
    assert defaults["SESSION_COOKIE_SAMESITE"] == "Lax"
