"""Where a ``save_many`` of 1,000 one-request jobs spends its time, on PostgreSQL, in
this process: building the jobs, the save's own Python, the driver's round trip, and the
garbage collector's passes over it all.

    .venv/bin/python -m bench.enqueue_parts [--batches 10] [--rounds 3]

Uses the benchmark's database (``BENCH_DATABASE_PREFIX``, default ``aq_bench``, then
``_parts``), emptied first. Prints one line a round; quote the medians.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from dashboard.queue import JobRepository

from .process import DATABASE_PREFIX
from .queue_db import CHUNK, QueueDatabase, database_url, new_job


class Clocked:
    """Seconds spent inside psycopg's ``Cursor.execute`` and inside the collector."""

    def __init__(self) -> None:
        self.driver = self.collector = 0.0
        self._started = 0.0
        execute = psycopg.Cursor.execute

        def timed(cursor, *args, **kwargs):
            started = time.perf_counter()
            try:
                return execute(cursor, *args, **kwargs)
            finally:
                self.driver += time.perf_counter() - started

        psycopg.Cursor.execute = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._on_collect)

    def _on_collect(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.collector += time.perf_counter() - self._started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10, help="save_many calls a round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = database_url("postgresql", f"{DATABASE_PREFIX}_parts", Path(tempfile.gettempdir()))
    database = QueueDatabase("postgresql", url)
    database.reset()
    clocked = Clocked()
    jobs = args.batches * CHUNK
    per_1000 = {"build": [], "save": [], "driver": [], "collector": [], "jobs/s": []}
    with database.app.app_context():
        for _ in range(args.rounds):
            clocked.driver = clocked.collector = 0.0
            build = save = 0.0
            for start in range(0, jobs, CHUNK):
                started = time.perf_counter()
                batch = [new_job(n, 1) for n in range(start, start + CHUNK)]
                built = time.perf_counter()
                JobRepository().save_many(batch)
                build, save = build + built - started, save + time.perf_counter() - built
            scale = 1000 * CHUNK / jobs  # ms per 1,000 jobs
            figures = {"build": build * scale, "save": save * scale,
                       "driver": clocked.driver * scale, "collector": clocked.collector * scale,
                       "jobs/s": jobs / (build + save)}
            for name, value in figures.items():
                per_1000[name].append(value)
            parts = ", ".join(f"{name} {value:,.1f}" for name, value in figures.items()
                              if name != "jobs/s")
            print(f"ms per 1,000 jobs: {parts} (driver and collector: within build and "
                  f"save); {figures['jobs/s']:,.0f} jobs/s", flush=True)
    print("medians: " + ", ".join(f"{name} {statistics.median(values):,.1f}"
                                  for name, values in per_1000.items()))


if __name__ == "__main__":
    main()
