"""The rate limit per API token: 429 with Retry-After past API_RATE_LIMIT, per token."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.api.ratelimit import SQLiteFileStorage, limiter
from dashboard.app import config
from dashboard.queue.database.engine_setup import use_write_ahead_log
from tests.support.api import ApiClient, job_body


@pytest.fixture
def limited(app):
    """Three calls a minute per token."""
    app.config["API_RATE_LIMIT"] = "3 per minute"
    return app


def test_past_the_limit_a_token_gets_429_with_retry_after(limited, api):
    client = api("operator")
    answers = [client.get("/api/v1/jobs").status_code for _ in range(3)]
    answers.append(client.post("/api/v1/jobs", job_body(("test_echo", {}))).status_code)
    assert answers == [200, 200, 200, 429]
    refused = client.get("/api/v1/jobs/1")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json() == {
        "error": "too-many-requests",
        "message": "too many requests with this token (API_RATE_LIMIT); wait and retry"}


def test_each_token_has_its_own_count(limited, api):
    for _ in range(3):
        assert api("operator").get("/api/v1/jobs").status_code == 200
    assert api("operator").get("/api/v1/jobs").status_code == 429
    assert api("viewer").get("/api/v1/jobs").status_code == 200


def test_the_description_and_bad_tokens_are_not_counted_against_a_token(limited, api):
    for _ in range(5):
        assert api("operator").get("/api/v1/openapi.json").status_code == 200
    assert api("operator").get("/api/v1/jobs").status_code == 200


def test_off_turns_the_limit_off(app, api, monkeypatch):
    app.config["API_RATE_LIMIT"] = "off"
    client = api("viewer")
    # Off, Flask-Limiter looks up no limit for a call (its costliest part), and counts none.
    looked_up = []
    resolve = limiter.limit_manager.resolve_limits
    monkeypatch.setattr(limiter.limit_manager, "resolve_limits",
                        lambda *args: looked_up.append(args) or resolve(*args))
    assert {client.get("/api/v1/jobs").status_code for _ in range(5)} == {200}
    assert looked_up == []
    app.config["API_RATE_LIMIT"] = "3 per minute"
    assert client.get("/api/v1/jobs").status_code == 200
    assert looked_up  # the count above is of something that happens when the limit is on


@pytest.mark.parametrize(("raw", "expected"), [
    ("", "off"), ("OFF", "off"), ("600 per minute", "600 per minute"),
    ("10/second;500/hour", "10/second;500/hour"),
])
def test_the_setting_takes_flask_limiters_notation(raw, expected):
    assert config.rate_limit(raw) == expected


@pytest.mark.parametrize("raw", ["fast", "10 per fortnight", "-1/second"])
def test_a_wrong_setting_is_refused_naming_it(raw):
    with pytest.raises(config.ConfigError, match="API_RATE_LIMIT must be like"):
        config.rate_limit(raw)


def test_the_file_storage_counts_per_key_and_forgets_ended_windows(tmp_path):
    storage = SQLiteFileStorage(f"sqlitefile://{tmp_path / 'limits.db'}")
    assert [storage.incr("a", 1) for _ in range(3)] == [1, 2, 3]
    assert (storage.incr("b", 60), storage.get("a"), storage.get("nothing")) == (1, 3, 0)
    assert storage.get_expiry("a") <= time.time() + 1
    time.sleep(1.1)
    assert storage.get("a") == 0 and storage.incr("a", 1) == 1  # a new window
    assert (tmp_path / "limits.db").stat().st_mode & 0o777 == 0o600
    storage.clear("b")
    assert storage.get("b") == 0 and storage.check()


def test_a_second_storage_on_the_same_file_sees_the_same_counts(tmp_path):
    # What two gunicorn workers of one host do (tests/deploy/test_load.py runs them).
    uri = f"sqlitefile://{tmp_path / 'limits.db'}"
    first, second = SQLiteFileStorage(uri), SQLiteFileStorage(uri)
    first.incr("token:1", 60)
    assert second.incr("token:1", 60) == 2


def _count_on_eight_threads(uri: str, counts) -> None:
    """A gunicorn worker's first requests: its threads open the file together."""
    storage = SQLiteFileStorage(uri)
    threads = [threading.Thread(target=lambda: counts.put(storage.incr("token:1", 60)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_the_workers_of_a_host_opening_a_new_file_together_count_every_call(tmp_path):
    # Each round a new file, opened by two processes of eight threads at once: without
    # waiting for the switch to WAL, about one round in eight lost a call (503 in the API).
    fork = multiprocessing.get_context("fork")
    for round_ in range(30):
        uri = f"sqlitefile://{tmp_path / f'limits-{round_}.db'}"
        counts = fork.SimpleQueue()
        workers = [fork.Process(target=_count_on_eight_threads, args=(uri, counts))
                   for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        got = []
        while not counts.empty():
            got.append(counts.get())
        assert sorted(got) == list(range(1, 17)), f"round {round_}: {sorted(got)}"


def test_the_switch_to_wal_waits_for_another_connections_write(tmp_path):
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # on a new file the switch fails at once, unwaited
    tried, modes = threading.Event(), []

    def switch() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.set_trace_callback(lambda _: tried.set())
        use_write_ahead_log(connection, patience=30)
        modes.append(connection.execute("PRAGMA journal_mode").fetchone()[0])

    thread = threading.Thread(target=switch)
    thread.start()
    assert tried.wait(10)
    holder.execute("COMMIT")
    thread.join(30)
    assert modes == ["wal"]


@pytest.fixture
def file_limited(app, tmp_path, monkeypatch):
    """Three calls a minute per token, counted in a SQLite file; statements wait 0.5 s at
    most for its lock."""
    monkeypatch.setattr(SQLiteFileStorage, "BUSY_TIMEOUT", 0.5, raising=False)
    path = tmp_path / "limits.db"
    app.config["API_RATE_LIMIT"] = "3 per minute"
    monkeypatch.setattr(limiter, "_storage", SQLiteFileStorage(f"sqlitefile://{path}",
                                                               wrap_exceptions=True))
    monkeypatch.setattr(limiter, "_limiter", type(limiter._limiter)(limiter._storage))
    limiter._storage.incr("made", 60)  # the file and its table
    return path


def test_a_locked_count_never_lets_a_call_through_uncounted(file_limited, app, api,
                                                           token_secrets):
    holder = sqlite3.connect(file_limited, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than 0.5 s
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: api("operator").get("/api/v1/jobs"), range(8)))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    statuses = Counter(answer.status_code for answer in answers)
    # Counted in this worker's memory meanwhile: three calls, then 429; or refused.
    assert statuses[200] <= 3, [a.get_json() for a in answers]
    assert set(statuses) <= {200, 429, 503}, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["Retry-After"] == "5"
            assert "rate limit" in answer.get_json()["message"]


def test_twenty_failed_token_checks_from_one_address_get_429(app, api, token_secrets):
    guesser = ApiClient(app.test_client(), "not-a-token")
    guesses = [guesser.get("/api/v1/jobs").status_code for _ in range(21)]
    assert guesses == [401] * 20 + [429]
    refused = api("operator").get("/api/v1/jobs")  # a good token, from that address
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert refused.get_json()["message"] == (
        "too many failed token checks from this address; wait and retry")
    elsewhere = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    assert api("operator").get("/api/v1/jobs", **elsewhere).status_code == 200
    assert guesser.get("/api/v1/jobs", **elsewhere).status_code == 401
