"""pgqueuer's side of the benchmark (runs in bench/.venv-peers; see peer_common).

The worker itself is pgqueuer's own CLI, on the factory below:
``pgq run bench.peer_pgqueuer:main --mode drain --log-level warning [--batch-size 1]``.
"""

from __future__ import annotations

import asyncio
import os
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

from bench import peer_common
from bench.peer_common import PeerSide, answer, chunks, create_database, dsn, execute, timed

TABLES = ("pgqueuer", "pgqueuer_log", "pgqueuer_statistics")
#: The entrypoint's ``concurrency_limit`` (0, pgqueuer's default: none).
CONCURRENCY_LIMIT = int(os.environ.get("BENCH_CONCURRENCY_LIMIT") or 0)


@asynccontextmanager
async def main() -> AsyncIterator[PgQueuer]:
    """The consumer, as pgqueuer's docs write one: an asyncpg connection, one entrypoint
    (1.6 wants the factory to be an async context manager)."""
    connection = await asyncpg.connect(dsn())
    pgq = PgQueuer(AsyncpgDriver(connection))

    @pgq.entrypoint("noop", concurrency_limit=CONCURRENCY_LIMIT)
    async def noop(job: Job) -> None:
        if peer_common.WAIT:
            await asyncio.sleep(peer_common.WAIT)  # the latency row: a call to a remote API
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
    """``Queries.enqueue()``: one job per call when ``batch`` is 1, else lists."""
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


SIDE = PeerSide(
    setup=setup,
    reset=f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY",
    tables=TABLES,
    enqueue=enqueue,
    window="SELECT count(*) FILTER (WHERE status = 'successful'), "
           "EXTRACT(EPOCH FROM min(created) FILTER (WHERE status = 'picked')), "
           "EXTRACT(EPOCH FROM max(created) FILTER (WHERE status = 'successful')) "
           "FROM pgqueuer_log",
)
cli = SIDE.cli
