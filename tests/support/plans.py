"""What a claim reads, measured by each database's own counters: PostgreSQL's plan of the
locking read with its rows and buffers, MariaDB's handler statistics, SQLite's virtual
machine steps."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
import sqlalchemy as sa
from sqlalchemy import event

from dashboard.app.extensions import db

#: The parameters of ``lock_due_jobs`` (migration 0008), in order.
LOCK_DUE_JOBS_PARAMETERS = ("due_by", "free_at", "batch")


@dataclass(frozen=True)
class Work:
    """What one claim read: rows of the jobs table, and pages (PostgreSQL only)."""

    rows: int
    buffers: int = 0


def plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def rows_read(plan: dict) -> int:
    """Rows every scan of the jobs table produced or threw away, over all its loops."""
    return sum(
        (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
         + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
        for node in plan_nodes(plan)
        if node.get("Relation Name") == "jobs")


def buffers(plan: dict) -> int:
    return plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)


def locking_read(connection: sa.Connection) -> tuple[str, list[str]]:
    """``lock_due_jobs``'s query with ``$1, $2, $3`` for its parameters, and the settings
    the function runs it under, read from the database itself."""
    body, settings = connection.execute(sa.text(
        "SELECT prosrc, proconfig FROM pg_proc WHERE proname = 'lock_due_jobs'")).one()
    for number, name in enumerate(LOCK_DUE_JOBS_PARAMETERS, start=1):
        body = re.sub(rf"\b{name}\b", f"${number}", body)
    return body, list(settings or [])


def explain_locking_read(connection: sa.Connection, *, due_by: datetime, now: datetime,
                         limit: int) -> dict:
    """The plan PostgreSQL runs ``lock_due_jobs`` with, run for real (then rolled back):
    under the function's settings, and generic, as a SQL function's query is planned
    before its parameters are known."""
    body, settings = locking_read(connection)
    raw = connection.connection.dbapi_connection
    with psycopg.ClientCursor(raw) as cursor:
        cursor.execute(f"PREPARE locking_read (timestamp, timestamp, integer) AS {body}")
        try:
            for setting in [*settings, "plan_cache_mode=force_generic_plan"]:
                name, value = setting.split("=", 1)
                cursor.execute("SELECT set_config(%s, %s, true)", (name, value))
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE locking_read (%s, %s, %s)",
                (_naive(due_by), _naive(now), limit))
            plan = cursor.fetchone()[0][0]["Plan"]
        finally:
            raw.rollback()
            cursor.execute("DEALLOCATE locking_read")
            raw.commit()
    return plan


def explain_statement(connection: sa.Connection, statement: str, parameters: dict) -> dict:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of a statement run for real, then rolled back."""
    text = connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", parameters).scalar()
    connection.rollback()
    return (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]


def handler_reads(connection: sa.Connection, run: Callable[[sa.Connection], object]) -> int:
    """MariaDB: the index and table rows InnoDB handed over while ``run`` ran."""
    def reads() -> int:
        rows = connection.exec_driver_sql("SHOW SESSION STATUS LIKE 'Handler_read%%'").all()
        return sum(int(value) for _, value in rows)

    own = -reads() + reads()  # what one SHOW STATUS reads itself
    before = reads()
    run(connection)
    return reads() - before - own


def vm_steps(connection: sa.Connection, run: Callable[[sa.Connection], object]) -> int:
    """SQLite: virtual machine instructions ``run`` made the database execute, in
    hundreds; a scan of the table costs a few instructions per row."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    raw = connection.connection.dbapi_connection
    raw.set_progress_handler(count, 100)
    try:
        run(connection)
    finally:
        raw.set_progress_handler(None, 100)
    return steps


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def describe(plan: dict) -> str:
    return json.dumps(plan, indent=1)[:6000]


def sent_statement(run: Callable[[sa.Connection], object], marker: str) -> tuple[str, dict]:
    """The one statement containing ``marker`` that ``run(connection)`` sends, with its
    parameters, caught on its way to the server."""
    caught: list[tuple[str, dict]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if marker in statement:
            caught.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        with db.engine.connect() as connection:
            run(connection)
            connection.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    assert len(caught) == 1, f"expected one statement with {marker!r}, caught {caught}"
    return caught[0]


def sqlite_plan(connection: sa.Connection, query: str, parameters: dict) -> str:
    """SQLite's EXPLAIN QUERY PLAN of a query, one step a line."""
    rows = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {query}"), parameters).all()
    return "\n".join(row[-1] for row in rows)
