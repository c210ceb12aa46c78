"""Issue 24's rows: many requests in flight on a few connections (see docs/benchmarks.md).

- **Many in flight**: 4,000 jobs whose one request waits 1 s, as a call to a remote API
  would, 400 at once, one process each: our digest at ``--concurrency 400`` with
  QUEUE_DB_CONNECTIONS at its default, procrastinate's worker at ``--concurrency 400``,
  pgqueuer's at ``--batch-size 400`` with ``concurrency_limit=400``; the ceiling is
  400 / 1 s = 400 jobs/s. Each row gives jobs/s, the peak of the worker's connections
  to its database (``pg_stat_activity``, sampled every 20 ms), its CPU per job and its
  peak RSS.
- **A fleet**: 6 digests at ``--concurrency 100`` with ``QUEUE_DB_CONNECTIONS=4``, 24
  connections in all, on one database.
- **No-op**: requests that do nothing, our digest at concurrency 16 (group commit
  writes the steps of the jobs that end together in one transaction) beside pgqueuer's
  default batch of 10.

    .venv/bin/python -m bench.inflight [--jobs 4000] [--noop-jobs 5000]

The figures are printed, one line each; bench/run.sh --only inflight puts them in its run.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import psycopg

from .ours import digest_command, digest_env
from .peers import BIN, PG, PGQUEUER, PROCRASTINATE, Peer, ensure_venv
from .process import DATABASE_PREFIX, Finished, Running, run
from .queue_db import QueueDatabase, server_database
from .results import Measurement

WAIT = 1.0
AT_ONCE = 400
FLEET, FLEET_EACH, FLEET_CONNECTIONS = 6, 100, 4


def key(run: str) -> str:
    """A run's key in a benchmark's results (bench/run.py)."""
    return f"inflight/{run}"


@dataclass
class Row:
    name: str
    jobs_per_second: float
    done: int
    peak_connections: int
    cpu_ms_per_job: float
    rss_mb: float
    #: Which run it is (a key of ``rows``'s runs: ours, procrastinate, fleet, noop...).
    key: str = ""

    def measurement(self, expected: int) -> Measurement:
        return Measurement(self.jobs_per_second, done=self.done, expected=expected,
                           rss_mb=self.rss_mb, cpu=self.cpu_ms_per_job * self.done / 1000,
                           connections=self.peak_connections)

    def line(self) -> str:
        return (f"{self.name}: {self.jobs_per_second:.0f} jobs/s ({self.done} done), "
                f"peak {self.peak_connections} connections, "
                f"{self.cpu_ms_per_job:.2f} ms CPU per job, peak RSS {self.rss_mb:.0f} MB")


class PeakConnections:
    """The most connections to database ``name`` at once, sampled every 20 ms."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.most = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(PG + "postgres", autocommit=True) as conn:
            while not self._done.wait(0.02):
                [(count,)] = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                    (self.name,)).fetchall()
                self.most = max(self.most, count)


def ours(database: QueueDatabase, name: str, jobs: int, wait: float, processes: int,
         concurrency: int, **settings: str) -> Row:
    """``processes`` digests on ``jobs`` due jobs, started together, each waiting
    ``wait`` seconds per request."""
    database.reset()
    database.fill(jobs, 1)
    database.dispose()  # its pooled connections would count
    command = digest_command(jobs, 600, concurrency)
    env = digest_env(database.url, BENCH_REQUEST_SECONDS=str(wait), **settings)
    db_name = database.url.rsplit("/", 1)[1]
    with PeakConnections(db_name) as peak:
        started = [Running(command, env) for _ in range(processes)]
        finished = [process.finish(timeout=900) for process in started]
    for process in finished:
        process.check()
    window = database.window()
    return _row(name, window.jobs / window.seconds, window.jobs, peak.most, finished)


def peer(base: Peer, name: str, jobs: int, wait: float, worker: tuple[str, ...],
         **settings: str) -> Row:
    """One worker of a peer on ``jobs`` jobs, each waiting ``wait`` seconds."""
    each = Peer(name, base.module, base.database, worker,
                settings=(("BENCH_REQUEST_SECONDS", str(wait)), *settings.items()))
    each.helper("reset")
    each.helper("load", jobs)
    with PeakConnections(base.database) as peak:
        finished = run(list(worker), each.env(), timeout=900)
    window = each.helper("window")
    if finished.returncode != 0 and window["done"] < jobs:
        raise RuntimeError(f"{name} failed:\n{finished.output[-3000:]}")
    rate = window["done"] / window["seconds"] if window["seconds"] else 0.0
    return _row(name, rate, window["done"], peak.most, [finished])


def _row(name: str, rate: float, done: int, peak: int, finished: list[Finished]) -> Row:
    cpu = sum(f.cpu for f in finished)
    return Row(name, rate, done, peak, 1000 * cpu / max(done, 1),
               max(f.max_rss_mb for f in finished))


def rows(jobs: int, noop_jobs: int, only: set[str] | None = None) -> list[Row]:
    ensure_venv()
    for each in (PROCRASTINATE, PGQUEUER):
        each.helper("setup")
    database = QueueDatabase("postgresql", server_database(
        "postgresql", f"{DATABASE_PREFIX}_inflight"))
    procrastinate = (str(BIN / "procrastinate"), "--app", "bench.peer_procrastinate.app",
                     "--log-level", "warning", "worker", "--one-shot")
    runs: dict[str, Callable[[], Row]] = {
        "ours": lambda: ours(database, f"ours, --concurrency {AT_ONCE}, "
                             "QUEUE_DB_CONNECTIONS default (8)", jobs, WAIT, 1, AT_ONCE),
        "procrastinate": lambda: peer(PROCRASTINATE, f"procrastinate, --concurrency {AT_ONCE}",
                                      jobs, WAIT, (*procrastinate, "--concurrency",
                                                   str(AT_ONCE))),
        "pgqueuer": lambda: peer(PGQUEUER, f"pgqueuer, --batch-size {AT_ONCE}, "
                                 f"concurrency_limit={AT_ONCE}", jobs, WAIT,
                                 (*PGQUEUER.worker, "--batch-size", str(AT_ONCE)),
                                 BENCH_CONCURRENCY_LIMIT=str(AT_ONCE)),
        "fleet": lambda: ours(database, f"ours, fleet of {FLEET} x --concurrency "
                              f"{FLEET_EACH}, QUEUE_DB_CONNECTIONS={FLEET_CONNECTIONS}",
                              jobs, WAIT, FLEET, FLEET_EACH,
                              QUEUE_DB_CONNECTIONS=str(FLEET_CONNECTIONS)),
        "noop": lambda: ours(database, "ours, no-op, --concurrency 16", noop_jobs, 0, 1, 16),
        "noop-pgqueuer": lambda: peer(PGQUEUER, "pgqueuer, no-op, batch of 10 (default)",
                                      noop_jobs, 0, PGQUEUER.worker),
    }
    found = []
    try:
        for key, measure in runs.items():
            if only and key not in only:
                continue
            row = replace(measure(), key=key)
            print(row.line(), flush=True)
            found.append(row)
    finally:
        database.dispose()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inflight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4000, help="jobs of 1 s (default 4,000)")
    parser.add_argument("--noop-jobs", type=int, default=5000,
                        help="no-op jobs (default 5,000)")
    parser.add_argument("--only", action="append", help="ours, procrastinate, pgqueuer, "
                        "fleet, noop, noop-pgqueuer (default: all)")
    args = parser.parse_args(argv)
    rows(args.jobs, args.noop_jobs, set(args.only) if args.only else None)


if __name__ == "__main__":
    main(sys.argv[1:])
