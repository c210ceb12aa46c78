"""What both peers' helpers share (runs in bench/.venv-peers: no project imports).

Each helper is called as ``cli(COMMAND, *ARGS)`` and prints one JSON line: ``setup``,
``reset``, ``load N`` (untimed, for a worker run), ``enqueue-single N``,
``enqueue-bulk N BATCH`` and ``window`` (jobs done and the seconds they took, read from
the peer's own tables).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Seconds each task waits, as a call to a remote API would (the latency row); 0: none.
WAIT = float(os.environ.get("BENCH_REQUEST_SECONDS") or 0)
#: The pickup row (bench/pickup.py): a worker idle this long, then jobs enqueued one at a
#: time, a random pause of this many seconds apart.
PICKUP_IDLE = 6.0
PICKUP_PAUSES = (0.1, 0.4)


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


@dataclass(frozen=True)
class PeerSide:
    """What differs between the peers: how to install, empty, fill and read them."""

    setup: Callable[[], None]
    #: Empties the peer's tables.
    reset: str
    tables: tuple[str, ...]
    #: ``enqueue(jobs, batch)``: jobs/s, one per call when ``batch`` is 1, else in lists.
    enqueue: Callable[[int, int], Awaitable[float]]
    #: Selects (jobs done, epoch of the first start, epoch of the last completion).
    window: str
    #: ``pickup(jobs)``: each job's wait from its enqueue to its start, with a worker
    #: idle at its defaults (bench/pickup.py); None: not measured for this peer.
    pickup: Callable[[int], list[float]] | None = None

    def cli(self, command: str, *args: str) -> None:
        if command == "setup":
            self.setup()
        elif command == "reset":
            execute(self.reset)
            answer(ok=True)
        elif command == "load":
            asyncio.run(self.enqueue(int(args[0]), 1000))
            execute(*(f"ANALYZE {table}" for table in self.tables))
            answer(ok=True)
        elif command == "load-cold":
            execute(*(f"ANALYZE {table}" for table in self.tables))  # of the empty tables
            asyncio.run(self.enqueue(int(args[0]), 1000))
            answer(ok=True)
        elif command == "enqueue-single":
            answer(per_second=asyncio.run(self.enqueue(int(args[0]), 1)))
        elif command == "enqueue-bulk":
            answer(per_second=asyncio.run(self.enqueue(int(args[0]), int(args[1]))))
        elif command == "pickup" and self.pickup is not None:
            answer(waits=self.pickup(int(args[0])))
        elif command == "window":
            done, first, last = execute(self.window)[0]
            answer(done=done, seconds=float(last - first) if done else 0.0)
        else:
            raise SystemExit(f"unknown command {command!r}")
