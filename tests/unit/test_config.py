import pytest

from dashboard.config import ConfigError, database_url, from_environment
from dashboard.queue.database import engine_options


def test_defaults(tmp_path):
    config = from_environment(str(tmp_path), {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/asyncqueue.db"
    assert config["QUEUE_MAX_ATTEMPTS"] == 9
    assert config["QUEUE_RETRY_DELAY"] == 7200
    assert config["QUEUE_MAX_JOBS_PER_RUN"] == 500
    assert config["QUEUE_LEASE_SECONDS"] == 300
    assert config["QUEUE_CONCURRENCY"] == 8
    assert config["QUEUE_TYPES"] == []


def test_secret_key_is_made_once_and_kept(tmp_path):
    first = from_environment(str(tmp_path), {})["SECRET_KEY"]
    assert len(first) == 64
    assert from_environment(str(tmp_path), {})["SECRET_KEY"] == first
    assert from_environment(str(tmp_path), {"SECRET_KEY": "s"})["SECRET_KEY"] == "s"


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
    ("QUEUE_CONCURRENCY", "eight", "QUEUE_CONCURRENCY must be a number"),
    ("QUEUE_CONCURRENCY", "2.5", "QUEUE_CONCURRENCY must be a number"),
])
def test_bad_numbers_stop_start_up_with_a_clear_message(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(str(tmp_path), {name: value})


def test_mariadb_gets_full_utf8():
    assert database_url("mysql+pymysql://root@h/db").endswith("?charset=utf8mb4")
    assert database_url("mysql+pymysql://root@h/db?charset=latin1").endswith("charset=latin1")
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize(("url", "concurrency", "pool_size"), [
    ("postgresql+psycopg://u@h/db", 8, 11),   # a connection per digest thread, and 3
    ("mysql+pymysql://u@h/db", 16, 19),
    ("sqlite:////srv/queue.db", 1, 5),        # never below SQLAlchemy's default
    ("sqlite://", 8, None),                   # in memory: one connection, no pool to size
])
def test_the_connection_pool_is_sized_from_the_concurrency(url, concurrency, pool_size):
    assert engine_options(url, concurrency=concurrency).get("pool_size") == pool_size
