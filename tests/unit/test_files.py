"""The files the dashboard makes are private to its user: 0700 folders, 0600 files."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from dashboard.app.config import from_environment
from dashboard.app.files import private_sqlite_file


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    """The usual umask, under which new files are readable by every local user."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_instance_folder_and_its_secret_key_are_private(tmp_path):
    instance = tmp_path / "instance"
    secret = from_environment(str(instance), {})["SECRET_KEY"]
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    assert (instance / "secret_key").read_text() == secret
    assert os.listdir(instance) == ["secret_key"]  # no draft left behind


def test_an_existing_secret_key_is_kept(tmp_path):
    (tmp_path / "secret_key").write_text("x" * 64)
    assert from_environment(str(tmp_path), {})["SECRET_KEY"] == "x" * 64


def test_the_sqlite_database_and_its_wal_and_shm_are_private(tmp_path):
    path = tmp_path / "queue.db"
    private_sqlite_file(f"sqlite:///{path}")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    assert {name: mode(tmp_path / name) for name in os.listdir(tmp_path)} == {
        "queue.db": 0o600, "queue.db-wal": 0o600, "queue.db-shm": 0o600}
    connection.close()


def test_an_existing_database_is_left_as_it_is(tmp_path):
    path = tmp_path / "queue.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    before = (mode(path), path.read_bytes())
    private_sqlite_file(f"sqlite:///{path}")
    assert (mode(path), path.read_bytes()) == before


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "postgresql+psycopg://u@h/db"])
def test_no_file_is_made_for_other_databases(tmp_path, url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    private_sqlite_file(url)
    assert os.listdir(tmp_path) == []


def test_the_app_makes_its_sqlite_database_private(tmp_path, monkeypatch):
    from dashboard import create_app
    from dashboard.app.extensions import db

    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'queue.db'}",
                      "SECRET_KEY": "k" * 32})
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        # While a connection is open the WAL and SHM files exist.
        modes = {name: mode(tmp_path / name) for name in os.listdir(tmp_path)}
    assert modes == {"queue.db": 0o600, "queue.db-wal": 0o600, "queue.db-shm": 0o600}
