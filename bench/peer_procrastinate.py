"""procrastinate's side of the benchmark (runs in bench/.venv-peers).

``python -m bench.peer_procrastinate setup|reset|load N|enqueue-single N|enqueue-bulk N B|window``;
the worker itself is procrastinate's own CLI:
``procrastinate --app bench.peer_procrastinate.app --log-level warning worker --one-shot``.
"""

from __future__ import annotations

import asyncio
import sys

import procrastinate

from bench.peer_common import answer, chunks, create_database, dsn, execute, timed

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn()))
TABLES = "procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers"


@app.task(name="noop")
async def noop(n: int) -> None:
    return None


async def setup() -> None:
    create_database()
    if not execute("SELECT to_regclass('procrastinate_jobs')")[0][0]:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()
    answer(version=procrastinate.__version__)


async def load(jobs: int, batch: int = 1000) -> float:
    async def work() -> None:
        async with app.open_async():
            for part in chunks(jobs, batch):
                await noop.batch_defer_async(*({"n": n} for n in part))

    return await timed(work, jobs)


async def enqueue_single(jobs: int) -> float:
    async def work() -> None:
        async with app.open_async():
            for n in range(jobs):
                await noop.defer_async(n=n)

    return await timed(work, jobs)


def window() -> None:
    done, first, last = execute(
        "SELECT count(*) FILTER (WHERE type = 'succeeded'), "
        "EXTRACT(EPOCH FROM min(at) FILTER (WHERE type = 'started')), "
        "EXTRACT(EPOCH FROM max(at) FILTER (WHERE type = 'succeeded')) "
        "FROM procrastinate_events")[0]
    answer(done=done, seconds=float(last - first) if done else 0.0)


def cli(command: str, *args: str) -> None:
    if command == "setup":
        asyncio.run(setup())
    elif command == "reset":
        execute(f"TRUNCATE {TABLES}, procrastinate_workers RESTART IDENTITY CASCADE")
        answer(ok=True)
    elif command == "load":
        asyncio.run(load(int(args[0])))
        execute(*(f"ANALYZE {table}" for table in TABLES.split(", ")))
        answer(ok=True)
    elif command == "enqueue-single":
        answer(per_second=asyncio.run(enqueue_single(int(args[0]))))
    elif command == "enqueue-bulk":
        answer(per_second=asyncio.run(load(int(args[0]), int(args[1]))))
    elif command == "window":
        window()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    cli(*sys.argv[1:])
