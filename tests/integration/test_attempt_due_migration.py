"""Migration 0024 gives attempts a due time: the attempts stored before it keep theirs
unknown (NULL), and going back drops the column, the attempts kept."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from dashboard.app.extensions import db


def columns_of_attempts() -> set[str]:
    return {column["name"] for column in sa.inspect(db.engine).get_columns("attempts")}


def attempts() -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT number, outcome, due_at FROM attempts ORDER BY id"))]


def test_attempts_stored_before_keep_no_due_time_and_going_back_drops_it(app) -> None:
    downgrade(revision="0023")
    assert "due_at" not in columns_of_attempts()
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO jobs (source_id, state, priority, created_at, updated_at) "
            "VALUES ('crm', 'completed', 0, '2026-01-05 09:00:00', '2026-01-05 09:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO requests (job_id, position, type_code, payload, payload_search, "
            "state, attempts, created_at, updated_at) "
            "SELECT id, 0, 'test_echo', '{}', '{}', 'succeeded', 2, "
            "created_at, updated_at FROM jobs"))
        for number, outcome in ((1, "failed"), (2, "succeeded")):
            connection.execute(sa.text(
                "INSERT INTO attempts (request_id, number, started_at, finished_at, outcome) "
                "SELECT id, :number, '2026-01-05 09:00:01', '2026-01-05 09:00:02', :outcome "
                "FROM requests"), {"number": number, "outcome": outcome})
    upgrade()
    assert attempts() == [(1, "failed", None), (2, "succeeded", None)]
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE attempts SET due_at = '2026-01-05 09:00:00' WHERE number = 2"))
    downgrade(revision="0023")
    assert "due_at" not in columns_of_attempts()
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM attempts")).scalar() == 2
    upgrade()
    assert attempts() == [(1, "failed", None), (2, "succeeded", None)]
