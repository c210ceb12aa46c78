"""What both peers' helpers share (runs in bench/.venv-peers: no project imports)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Awaitable, Callable

import psycopg

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn() -> str:
    return os.environ["BENCH_PEER_DSN"]


def create_database() -> None:
    """Create the peer's own database (the last part of its DSN) if it is missing."""
    name = psycopg.conninfo.conninfo_to_dict(dsn())["dbname"]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        connection.execute(f'CREATE DATABASE "{name}"')


def execute(*statements: str) -> list[tuple]:
    """Run SQL statements on the peer's database in one transaction; the last one's rows."""
    rows: list[tuple] = []
    with psycopg.connect(dsn()) as connection:
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


async def timed(work: Callable[[], Awaitable[None]], count: int) -> float:
    """Items per second of ``work`` (an async callable doing ``count`` items)."""
    started = time.perf_counter()
    await work()
    return count / (time.perf_counter() - started)


def answer(**values: object) -> None:
    """The helper's result, as the last line of its output."""
    print(json.dumps(values))
    sys.stdout.flush()


def chunks(total: int, size: int) -> list[range]:
    return [range(start, min(total, start + size)) for start in range(0, total, size)]
