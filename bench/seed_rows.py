"""The dashboard benchmark's jobs, requests and attempts made in Python, for SQLite.

The same mix as the PostgreSQL seeding's SQL in ``bench/dashboard.py`` (each formula
there has its twin here), inserted with ``executemany`` through the driver, the indexes
dropped meanwhile and rebuilt after (no ``ANALYZE``: the benchmark measures the file as
loaded first, then analyzed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa

ERRORS = ("ConnectionError: crm.example.test timed out after 30 s",
          "HTTPError: 503 Service Unavailable from the loyalty API",
          "customer {customer} is outside the synced groups",
          "HTTPError: 422 invalid address for order {order}")
TRACEBACK = ('Traceback (most recent call last):\n'
             '  File "myapp/queue_types.py", line 42, in execute\n')


def _at(moment: datetime) -> str:
    """As SQLAlchemy stores a naive UTC time in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def job_state(g: int) -> str:
    share = (g * 7919) % 1000
    for limit, state in ((900, "completed"), (930, "failed"), (950, "cancelled"),
                         (960, "retrying"), (995, "pending"), (999, "paused")):
        if share < limit:
            return state
    return "running"


def request_state(job: str, position: int) -> str:
    if job == "completed":
        return "succeeded"
    if job in ("failed", "retrying", "cancelled", "running") and position == 0:
        return "succeeded"
    if job in ("failed", "retrying", "running") and position == 1:
        return {"failed": "failed", "retrying": "retrying", "running": "running"}[job]
    return "cancelled" if job == "cancelled" else "pending"


def rows(count: int, types: list[str], now: datetime) -> Iterator[tuple[str, tuple]]:
    """("jobs" | "requests" | "attempts", row) for ``count`` jobs, as the SQL makes them."""
    start = now - timedelta(days=90)
    for g in range(1, count + 1):
        state = job_state(g)
        created = start + timedelta(days=90) * g / count
        finished = _at(created + timedelta(minutes=3)) \
            if state in ("completed", "failed", "cancelled") else None
        due = _at(created + timedelta(hours=2)) if state in ("pending", "retrying") else None
        yield "jobs", (g, f"cust-{g % (count // 5)}",
                       {0: "erp", 1: "webhooks"}.get(g % 10, "default"), 1 + g % 5, state, due,
                       _at(created), _at(created + timedelta(minutes=3)), finished)
        for p in range(3):
            yield from _request(g, p, state, created, types)


def _request(g: int, p: int, job: str, created: datetime,
             types: list[str]) -> Iterator[tuple[str, tuple]]:
    ident = (g - 1) * 3 + p + 1
    state = request_state(job, p)
    customer = g % 200000
    payload = json.dumps({"customer_id": customer, "email": f"c{customer}@example.test",
                          "store": 1 + g % 5, "step": p, "password": "not-shown",
                          "note": f"order {g * 31 % 9973} for cust-{g % 200000}"},
                         separators=(",", ":"))
    error = ERRORS[g % 4].format(customer=customer, order=g * 31 % 9973) \
        if state in ("failed", "retrying") else None
    tries = {"succeeded": 2 if ident % 10 == 0 else 1, "failed": 9, "retrying": 2}.get(state, 0)
    yield "requests", (ident, g, p, types[(g + p * 3) % len(types)], payload,
                       payload.replace('"not-shown"', '"••••••"'), state,
                       {"succeeded": 1}.get(state, tries), error,
                       json.dumps({"remote_id": f"R-{g}-{p}"}) if state == "succeeded" else None,
                       _at(created), _at(created + timedelta(minutes=3)))
    for n in range(1, tries + 1):
        won = state == "succeeded" and n == tries
        reason = None if won else (error or "ConnectionError: timed out")
        began = created + timedelta(minutes=n)
        yield "attempts", (ident, n, _at(began), _at(began + timedelta(milliseconds=350)),
                           "succeeded" if won else "failed", reason,
                           None if won else TRACEBACK + reason)


INSERTS = {
    "jobs": "INSERT INTO jobs (id, relation_id, source_id, store_id, state, next_attempt_at, "
            "created_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "requests": "INSERT INTO requests (id, job_id, position, type_code, payload, "
                "payload_search, state, attempts, last_error, result, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "attempts": "INSERT INTO attempts (request_id, number, started_at, finished_at, outcome, "
                "error, traceback) VALUES (?, ?, ?, ?, ?, ?, ?)",
}


def seed_sqlite(engine: sa.Engine, count: int, types: list[str], now: datetime) -> None:
    """Fill the SQLite tables: rows in batches, indexes dropped meanwhile."""
    print(f"seeding {count:,} jobs in SQLite ...", flush=True)
    started = time.monotonic()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Batches of requests are written before their jobs' batch; every row has its job.
        cursor.execute("PRAGMA foreign_keys = OFF")
        indexes = cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('jobs', 'requests', 'attempts')").fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        batches: dict[str, list[tuple]] = {table: [] for table in INSERTS}
        totals = dict.fromkeys(INSERTS, 0)
        for table, row in rows(count, types, now):
            batches[table].append(row)
            if len(batches[table]) >= 20_000:
                cursor.executemany(INSERTS[table], batches[table])
                totals[table] += len(batches[table])
                batches[table].clear()
        for table, batch in batches.items():
            cursor.executemany(INSERTS[table], batch)
            totals[table] += len(batch)
        print("  " + ", ".join(f"{table}: {n:,} rows" for table, n in totals.items())
              + f" in {time.monotonic() - started:.1f} s", flush=True)
        cursor.executemany(
            "INSERT INTO digest_runs (worker, started_at, finished_at, jobs, succeeded, "
            "failed, retrying) VALUES (?, ?, ?, 40, 110, 3, 5)",
            [(f"bench:1:{g}", _at(now - timedelta(minutes=g)),
              _at(now - timedelta(minutes=g, seconds=-4))) for g in range(1, 2001)])
        for _, definition in indexes:
            cursor.execute(definition)
        raw.commit()
    finally:
        raw.close()
    print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
