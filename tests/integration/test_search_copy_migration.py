"""Migration 0009 fills the search copy of the payloads already stored, secrets masked,
and hides those secrets in their stored last error."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from dashboard.app.extensions import db
from dashboard.queue.jobs.masking import MASK


def test_upgrade_masks_the_stored_payloads_and_errors(app) -> None:
    downgrade(revision="0005")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO jobs (relation_id, source_id, state, created_at, updated_at) "
            "VALUES ('c-1', 'default', 'failed', '2026-01-05 09:00:00', '2026-01-05 09:00:00')")
        job_id = connection.exec_driver_sql("SELECT max(id) FROM jobs").scalar()
        connection.execute(sa.text(
            "INSERT INTO requests (job_id, position, type_code, payload, state, attempts, "
            "last_error, created_at, updated_at) VALUES (:job, 0, 'test_leaks', :payload, "
            "'failed', 1, :error, '2026-01-05 09:00:00', '2026-01-05 09:00:00')"),
            {"job": job_id, "payload": '{"user": "ann", "api_key": "k-12345"}',
             "error": "ConnectionError: key k-12345 refused"})
    upgrade()
    with db.engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT payload, payload_search, last_error FROM requests").one()
    assert row.payload == '{"user": "ann", "api_key": "k-12345"}'  # the type still gets it
    assert row.payload_search == f'{{"user": "ann", "api_key": "{MASK}"}}'
    assert row.last_error == f"ConnectionError: key {MASK} refused"
