"""pgqueuer's side of the benchmark (runs in bench/.venv-peers).

``python -m bench.peer_pgqueuer setup|reset|load N|enqueue-single N|enqueue-bulk N B|window``;
the worker itself is pgqueuer's own CLI, on the factory below:
``pgq run bench.peer_pgqueuer:main --mode drain --log-level WARNING [--batch-size 1]``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

import asyncpg
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job
from pgqueuer.queries import Queries

from bench.peer_common import answer, chunks, create_database, dsn, execute, timed

TABLES = "pgqueuer, pgqueuer_log, pgqueuer_statistics"


@asynccontextmanager
async def main() -> AsyncIterator[PgQueuer]:
    """The consumer, as pgqueuer's docs write one: an asyncpg connection, one entrypoint
    (1.6 wants the factory to be an async context manager)."""
    connection = await asyncpg.connect(dsn())
    pgq = PgQueuer(AsyncpgDriver(connection))

    @pgq.entrypoint("noop")
    async def noop(job: Job) -> None:
        return None

    try:
        yield pgq
    finally:
        await connection.close()


def setup() -> None:
    create_database()
    if not execute("SELECT to_regclass('pgqueuer')")[0][0]:
        pgq = Path(sys.executable).with_name("pgq")
        subprocess.run([str(pgq), "--pg-dsn", dsn(), "install"], check=True,
                       stdout=subprocess.DEVNULL)
    answer(version=version("pgqueuer"))


async def enqueue(jobs: int, batch: int) -> float:
    """Jobs/s of ``Queries.enqueue``: one job per call when ``batch`` is 1, else lists."""
    connection = await asyncpg.connect(dsn())
    queries = Queries(AsyncpgDriver(connection))

    async def work() -> None:
        for part in chunks(jobs, batch):
            if batch == 1:
                await queries.enqueue("noop", str(part[0]).encode())
            else:
                await queries.enqueue(["noop"] * len(part), [str(n).encode() for n in part],
                                      [0] * len(part))

    try:
        return await timed(work, jobs)
    finally:
        await connection.close()


def window() -> None:
    done, first, last = execute(
        "SELECT count(*) FILTER (WHERE status = 'successful'), "
        "EXTRACT(EPOCH FROM min(created) FILTER (WHERE status = 'picked')), "
        "EXTRACT(EPOCH FROM max(created) FILTER (WHERE status = 'successful')) "
        "FROM pgqueuer_log")[0]
    answer(done=done, seconds=float(last - first) if done else 0.0)


def cli(command: str, *args: str) -> None:
    if command == "setup":
        setup()
    elif command == "reset":
        execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
        answer(ok=True)
    elif command == "load":
        asyncio.run(enqueue(int(args[0]), 1000))
        execute(*(f"ANALYZE {table}" for table in TABLES.split(", ")))
        answer(ok=True)
    elif command == "enqueue-single":
        answer(per_second=asyncio.run(enqueue(int(args[0]), 1)))
    elif command == "enqueue-bulk":
        answer(per_second=asyncio.run(enqueue(int(args[0]), int(args[1]))))
    elif command == "window":
        window()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    cli(*sys.argv[1:])
