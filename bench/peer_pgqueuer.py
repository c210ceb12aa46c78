"""pgqueuer's side of the benchmark (runs in bench/.venv-peers; see peer_common).

The worker itself is pgqueuer's own CLI, on the factory below:
``pgq run bench.peer_pgqueuer:main --mode drain --log-level warning [--batch-size 1]``.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
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
from bench.peer_common import (
    PICKUP_IDLE,
    PICKUP_PAUSES,
    PeerSide,
    answer,
    chunks,
    create_database,
    dsn,
    execute,
    timed,
)

TABLES = ("pgqueuer", "pgqueuer_log", "pgqueuer_statistics")
#: The entrypoint's ``concurrency_limit`` (0, pgqueuer's default: none).
CONCURRENCY_LIMIT = int(os.environ.get("BENCH_CONCURRENCY_LIMIT") or 0)
#: The pickup row: where the entrypoint writes each job's wait from enqueue to start.
PICKUP_FILE = os.environ.get("BENCH_PICKUP_FILE")


@asynccontextmanager
async def main() -> AsyncIterator[PgQueuer]:
    """The consumer, as pgqueuer's docs write one: an asyncpg connection, one entrypoint
    (1.6 wants the factory to be an async context manager)."""
    connection = await asyncpg.connect(dsn())
    pgq = PgQueuer(AsyncpgDriver(connection))

    @pgq.entrypoint("noop", concurrency_limit=CONCURRENCY_LIMIT)
    async def noop(job: Job) -> None:
        if PICKUP_FILE:  # the pickup row: the payload is the enqueue's time
            with open(PICKUP_FILE, "a") as waits:
                waits.write(f"{time.time() - float((job.payload or b'0').decode())}\n")
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


def pickup(jobs: int) -> list[float]:
    """Each job's wait from enqueue to start, with ``pgq run`` at its defaults (it
    LISTENs, and polls every 30 s), idle PICKUP_IDLE seconds after it started."""
    execute(SIDE.reset)
    with tempfile.TemporaryDirectory() as folder:
        waits = Path(folder) / "waits"
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("pgq")), "run", "bench.peer_pgqueuer:main",
             "--log-level", "warning"], env={**os.environ, "BENCH_PICKUP_FILE": str(waits)})
        try:
            time.sleep(2.0 + PICKUP_IDLE)  # its start-up (about 1 s here), then idle
            asyncio.run(_enqueue_paced(jobs))
            deadline = time.monotonic() + 60
            while not waits.exists() or len(waits.read_text().splitlines()) < jobs:
                if time.monotonic() > deadline:
                    raise SystemExit("pgqueuer did not start every job within 60 s")
                time.sleep(0.05)
            return [float(line) for line in waits.read_text().splitlines()]
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)


async def _enqueue_paced(jobs: int) -> None:
    connection = await asyncpg.connect(dsn())
    queries = Queries(AsyncpgDriver(connection))
    pace = random.Random(1)
    try:
        for _ in range(jobs):
            await queries.enqueue("noop", str(time.time()).encode())
            await asyncio.sleep(pace.uniform(*PICKUP_PAUSES))
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
    pickup=pickup,
)
cli = SIDE.cli
