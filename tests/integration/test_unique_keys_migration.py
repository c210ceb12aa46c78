"""Migration 0018 makes unique keys each source's own, keeping every key stored; going
back stops rather than lose a job when two sources share an active key."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from dashboard.app.extensions import db
from dashboard.queue import JobBuilder, JobRepository

ROWS = [("crm", "invoice:78", "pending"), ("crm", "invoice:79", "paused"),
        ("erp", "invoice:80", "failed"), ("erp", "invoice:78", "completed"),
        ("crm", "invoice:78", "cancelled"), ("shop", None, "pending")]


def stored() -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT source_id, unique_key, state FROM jobs ORDER BY id"))]


def save(source: str, key: str) -> bool:
    """Saves a job of ``source`` with ``key``; True when it was a duplicate."""
    job = JobBuilder().set_source_id(source).set_unique_key(key).create()
    job.request_builder().set_type_code("test_echo").set_payload({}).create()
    return JobRepository(db.session()).save(job).duplicate


def test_upgrade_keeps_every_key_and_frees_them_for_other_sources(app) -> None:
    downgrade(revision="0015")
    with db.engine.begin() as connection:
        for source, key, state in ROWS:
            connection.execute(sa.text(
                "INSERT INTO jobs (source_id, unique_key, state, priority, created_at, "
                "updated_at) VALUES (:source, :key, :state, 0, '2026-01-05 09:00:00', "
                "'2026-01-05 09:00:00')"), {"source": source, "key": key, "state": state})
    upgrade()
    assert stored() == ROWS
    assert save("crm", "invoice:78") and save("erp", "invoice:80")  # still held
    assert not save("erp", "invoice:78") and not save("shop", "invoice:79")


def test_downgrade_stops_while_two_sources_hold_one_key(app, caplog) -> None:
    assert not save("crm", "invoice:78") and not save("erp", "invoice:78")
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error, then exits
        downgrade(revision="0015")
    assert ("1 unique keys are held by active jobs of several sources (e.g. 'invoice:78')"
            in caplog.text)
    upgrade()  # a failed downgrade leaves the head (SQLite, PostgreSQL: nothing was done)
    assert [row[:2] for row in stored()] == [("crm", "invoice:78"), ("erp", "invoice:78")]
