import pytest

from dashboard.app.config import ConfigError, database_url, from_environment
from dashboard.queue.database.engine_setup import engine_options


def test_defaults(tmp_path):
    config = from_environment(str(tmp_path), {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/asyncqueue.db"
    assert config["QUEUE_MAX_ATTEMPTS"] == 9
    assert config["QUEUE_RETRY_DELAY"] == 7200
    assert config["QUEUE_MAX_JOBS_PER_RUN"] == 500
    assert config["QUEUE_LEASE_SECONDS"] == 300
    assert config["QUEUE_CONCURRENCY"] == 8
    assert config["QUEUE_REQUEST_TIMEOUT"] == 300.0
    assert config["QUEUE_DB_CONNECTIONS"] == 8
    assert config["QUEUE_DB_WAIT_SECONDS"] == 60.0
    assert config["QUEUE_TYPES"] == []


def test_secret_key_is_made_once_and_kept(tmp_path):
    first = from_environment(str(tmp_path), {})["SECRET_KEY"]
    assert len(first) == 64
    assert from_environment(str(tmp_path), {})["SECRET_KEY"] == first
    given = "s" * 32
    assert from_environment(str(tmp_path), {"SECRET_KEY": given})["SECRET_KEY"] == given


def test_queue_types_list(tmp_path):
    config = from_environment(str(tmp_path), {"QUEUE_TYPES": " a.b , c ,"})
    assert config["QUEUE_TYPES"] == ["a.b", "c"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("QUEUE_MAX_ATTEMPTS", "many", "QUEUE_MAX_ATTEMPTS must be a number"),
    ("QUEUE_MAX_ATTEMPTS", "0", "QUEUE_MAX_ATTEMPTS must be at least 1"),
    ("QUEUE_RETRY_DELAY", "-5", "QUEUE_RETRY_DELAY must be at least 0"),
    ("QUEUE_MAX_JOBS_PER_RUN", "1.5", "must be a number"),
    ("QUEUE_LEASE_SECONDS", "0", "QUEUE_LEASE_SECONDS must be at least 1"),
    ("QUEUE_CONCURRENCY", "0", "QUEUE_CONCURRENCY must be at least 1"),
    ("QUEUE_REQUEST_TIMEOUT", "0", "QUEUE_REQUEST_TIMEOUT must be at least 1"),
    ("QUEUE_REQUEST_TIMEOUT", "inf", "QUEUE_REQUEST_TIMEOUT must be a finite number"),
    ("QUEUE_CONCURRENCY", "eight", "QUEUE_CONCURRENCY must be a number"),
    ("QUEUE_DB_CONNECTIONS", "1", "QUEUE_DB_CONNECTIONS must be at least 2"),
    ("QUEUE_DB_WAIT_SECONDS", "-1", "QUEUE_DB_WAIT_SECONDS must be at least 0"),
    ("QUEUE_CONCURRENCY", "2.5", "QUEUE_CONCURRENCY must be a number"),
])
def test_bad_numbers_stop_start_up_with_a_clear_message(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(str(tmp_path), {name: value})


def test_mariadb_gets_full_utf8():
    assert database_url("mysql+pymysql://root@h/db").endswith("?charset=utf8mb4")
    assert database_url("mysql+pymysql://root@h/db?charset=latin1").endswith("charset=latin1")
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize(("value", "secure"), [
    # Every spelling of on and off, whatever the case; unset or blank is off.
    ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("On", True),
    ("0", False), ("false", False), ("no", False), ("off", False), ("", False), (None, False),
])
def test_on_off_settings_are_read_one_way(tmp_path, value, secure):
    env = {} if value is None else {"DASHBOARD_HTTPS_ONLY": value}
    assert from_environment(str(tmp_path), env)["SESSION_COOKIE_SECURE"] is secure


@pytest.mark.parametrize("name", ["DASHBOARD_HTTPS_ONLY", "MAIL_USE_TLS", "MAIL_USE_SSL"])
@pytest.mark.parametrize("value", ["2", "enabled", "y", "oui"])
def test_anything_else_than_on_or_off_is_refused_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"^{name} must be true or false, got '{value}'$"):
        from_environment(str(tmp_path), {name: value})


@pytest.mark.parametrize(("name", "value"), [
    ("QUEUE_LEASE_SECONDS", "nan"), ("QUEUE_RETRY_DELAY", "inf"), ("MAIL_TIMEOUT", "NaN"),
])
def test_numbers_must_be_finite(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"{name} must be a finite number"):
        from_environment(str(tmp_path), {name: value})


def test_a_short_secret_key_is_refused_with_the_reason_and_not_shown(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is 31 characters long; it must have "
                                          "at least 32, or a session cookie") as refused:
        from_environment(str(tmp_path), {"SECRET_KEY": "k" * 31})
    assert "k" * 31 not in str(refused.value)
    assert from_environment(str(tmp_path), {"SECRET_KEY": "k" * 32})["SECRET_KEY"] == "k" * 32


@pytest.mark.parametrize("url", ["not a url", "foo://host/db", "postgresql://u@h:port/db"])
def test_a_bad_database_url_is_a_setting_error(tmp_path, url):
    with pytest.raises(ConfigError, match=r"^DATABASE_URL is not a database URL"):
        from_environment(str(tmp_path), {"DATABASE_URL": url})


def test_a_config_error_is_one_line_and_exit_code_2_for_every_flask_command():
    # A ClickException: click prints "Error: <message>" and exits with its code.
    error = ConfigError("QUEUE_ALERT_TO: 'x' is not an email address")
    assert error.exit_code == 2
    assert str(error) == "QUEUE_ALERT_TO: 'x' is not an email address"


@pytest.mark.parametrize(("url", "connections", "pool_size"), [
    ("postgresql+psycopg://u@h/db", 8, 8),    # QUEUE_DB_CONNECTIONS, whatever the concurrency
    ("mysql+pymysql://u@h/db", 16, 16),
    ("sqlite:////srv/queue.db", 2, 5),        # never below SQLAlchemy's default
    ("sqlite://", 8, None),                   # in memory: one connection, no pool to size
])
def test_the_connection_pool_is_sized_from_the_digests_connections(url, connections,
                                                                   pool_size):
    assert engine_options(url, connections=connections).get("pool_size") == pool_size



@pytest.mark.parametrize(("env", "value"), [({}, 100_000), ({"API_MAX_ELEMENTS": "5000"}, 5000)])
def test_api_max_elements(tmp_path, env, value):
    assert from_environment(str(tmp_path), env)["API_MAX_ELEMENTS"] == value


@pytest.mark.parametrize(("raw", "message"), [("lots", "API_MAX_ELEMENTS must be a number"),
                                              ("10", "API_MAX_ELEMENTS must be at least 100")])
def test_a_bad_api_max_elements_stops_start_up(tmp_path, raw, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(str(tmp_path), {"API_MAX_ELEMENTS": raw})
