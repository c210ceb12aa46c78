"""Settings for logs and metrics."""

import pytest

from dashboard.app.config import ConfigError, from_environment


def test_defaults_plain_logs_at_info_and_no_metrics(tmp_path):
    config = from_environment(str(tmp_path), {})
    assert (config["LOG_FORMAT"], config["LOG_LEVEL"]) == ("plain", "INFO")
    assert config["METRICS_TOKEN"] is None
    assert config["METRICS_WINDOW"] == 300


def test_values_are_read_forgiving_case_and_spaces(tmp_path):
    config = from_environment(str(tmp_path), {
        "LOG_FORMAT": "JSON", "LOG_LEVEL": "warning", "METRICS_TOKEN": " s3cret ",
        "METRICS_WINDOW": "60"})
    assert (config["LOG_FORMAT"], config["LOG_LEVEL"]) == ("json", "WARNING")
    assert (config["METRICS_TOKEN"], config["METRICS_WINDOW"]) == ("s3cret", 60)


def test_a_blank_token_leaves_metrics_off(tmp_path):
    assert from_environment(str(tmp_path), {"METRICS_TOKEN": "  "})["METRICS_TOKEN"] is None


@pytest.mark.parametrize(("name", "value", "message"), [
    ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of plain, json, got 'xml'"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
    ("METRICS_WINDOW", "0", "METRICS_WINDOW must be at least 1"),
])
def test_bad_values_stop_start_up(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(str(tmp_path), {name: value})
