"""procrastinate's side of the benchmark (runs in bench/.venv-peers; see peer_common).

The worker itself is procrastinate's own CLI:
``procrastinate --app bench.peer_procrastinate.app --log-level warning worker --one-shot``.
"""

from __future__ import annotations

import asyncio

import procrastinate

from bench import peer_common
from bench.peer_common import PeerSide, answer, chunks, create_database, dsn, execute, timed

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn()))
TABLES = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers")


@app.task(name="noop")
async def noop(n: int) -> None:
    if peer_common.WAIT:
        await asyncio.sleep(peer_common.WAIT)  # the latency row: a call to a remote API
    return None


def setup() -> None:
    async def apply_schema() -> None:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    create_database()
    if not execute("SELECT to_regclass('procrastinate_jobs')")[0][0]:
        asyncio.run(apply_schema())
    answer(version=procrastinate.__version__)


async def enqueue(jobs: int, batch: int) -> float:
    """``defer_async()`` one job at a time, or ``batch_defer_async()`` in batches."""
    async def work() -> None:
        async with app.open_async():
            for part in chunks(jobs, batch):
                if batch == 1:
                    await noop.defer_async(n=part[0])
                else:
                    await noop.batch_defer_async(*({"n": n} for n in part))

    return await timed(work, jobs)


SIDE = PeerSide(
    setup=setup,
    reset=f"TRUNCATE {', '.join(TABLES)}, procrastinate_workers RESTART IDENTITY CASCADE",
    tables=TABLES,
    enqueue=enqueue,
    window="SELECT count(*) FILTER (WHERE type = 'succeeded'), "
           "EXTRACT(EPOCH FROM min(at) FILTER (WHERE type = 'started')), "
           "EXTRACT(EPOCH FROM max(at) FILTER (WHERE type = 'succeeded')) "
           "FROM procrastinate_events",
)
cli = SIDE.cli
