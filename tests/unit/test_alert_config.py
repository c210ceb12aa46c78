import pytest

from dashboard.app.config import ConfigError, addresses, from_environment

ALERTS = {"QUEUE_ALERT_TO": "ops@example.test", "MAIL_DEFAULT_SENDER": "queue@example.test",
          "DASHBOARD_URL": "https://queue.example.test/"}


def test_mail_defaults(tmp_path):
    config = from_environment(str(tmp_path), {})
    assert config["QUEUE_ALERT_TO"] == []
    assert config["QUEUE_ALERT_INTERVAL"] == 900
    assert config["MAIL_TIMEOUT"] == 10
    assert (config["MAIL_SERVER"], config["MAIL_PORT"]) == ("localhost", 25)
    assert (config["MAIL_USE_TLS"], config["MAIL_USE_SSL"]) == (False, False)
    assert config["DASHBOARD_URL"] is None


def test_recipients_are_split_and_trimmed_and_test_domains_pass(tmp_path):
    env = {**ALERTS, "QUEUE_ALERT_TO": " ops@example.test ,lead+queue@mail.example.com, "}
    config = from_environment(str(tmp_path), env)
    assert config["QUEUE_ALERT_TO"] == ["ops@example.test", "lead+queue@mail.example.com"]
    assert config["DASHBOARD_URL"] == "https://queue.example.test"


@pytest.mark.parametrize("bad", [
    "ops",                      # no domain
    "ops@example",              # no top-level domain
    "ops team@example.test",    # a space inside
    "<ops@example.test>",       # brackets belong to the sender's display form only
    "ops@@example.test",
])
def test_an_invalid_recipient_is_named(bad):
    with pytest.raises(ConfigError, match=f"QUEUE_ALERT_TO: '{bad}' is not an email address"):
        addresses(f"lead@example.test, {bad}")


@pytest.mark.parametrize(("env", "message"), [
    ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be true or false, got 'maybe'"),
    ({"MAIL_PORT": "smtp"}, "MAIL_PORT must be a number"),
    ({"MAIL_TIMEOUT": "0"}, "MAIL_TIMEOUT must be at least 0.1"),
    ({"QUEUE_ALERT_INTERVAL": "-1"}, "QUEUE_ALERT_INTERVAL must be at least 0"),
    ({"MAIL_USE_TLS": "1", "MAIL_USE_SSL": "yes"}, "can't both be on"),
    ({"MAIL_DEFAULT_SENDER": "queue"}, "MAIL_DEFAULT_SENDER: 'queue' is not an email"),
    ({"MAIL_DEFAULT_SENDER": ""}, "QUEUE_ALERT_TO is set but MAIL_DEFAULT_SENDER is not"),
    ({"DASHBOARD_URL": ""}, "QUEUE_ALERT_TO is set but DASHBOARD_URL is not"),
    ({"DASHBOARD_URL": "queue.example.test"}, "DASHBOARD_URL must start with http"),
])
def test_bad_mail_settings_stop_start_up_with_a_clear_message(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(str(tmp_path), {**ALERTS, **env})


def test_the_sender_may_carry_a_name(tmp_path):
    env = {**ALERTS, "MAIL_DEFAULT_SENDER": "AsyncQueue <queue@example.test>",
           "MAIL_USE_SSL": "true"}
    config = from_environment(str(tmp_path), env)
    assert config["MAIL_DEFAULT_SENDER"] == "AsyncQueue <queue@example.test>"
    assert config["MAIL_USE_SSL"] is True
