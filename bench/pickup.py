"""Pickup latency (issue 24, part 2): how long a job waits between its save and its start,
with a long-lived worker at its defaults that has been idle a while.

Ours: ``flask --app dashboard digest --loop`` (interval 5 s) on PostgreSQL, SQLite and
MariaDB. pgqueuer: ``pgq run`` (its defaults), in the same run. After the worker has been
idle ``IDLE`` seconds, ``JOBS`` jobs are saved one at a time, 100 to 400 ms apart (a
seeded random pause). A job's wait is its first request's start (the attempt's
``started_at``; pgqueuer: its entrypoint's first line) less the time just before its save
began (the job's ``created_at``; pgqueuer: a time stamp in the payload). Both clocks are
this host's. Also: the poll of SQLite and MariaDB, timed on its own.

    .venv/bin/python -m bench.pickup            # or: bench/run.sh --only pickup
"""

from __future__ import annotations

import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue import Attempt, DigestRun, Job, JobRepository, JobState, Request
from dashboard.queue.database import wakeup

from .ours import digest_env
from .peer_common import PICKUP_IDLE, PICKUP_PAUSES
from .process import DATABASE_PREFIX, Running
from .queue_db import QueueDatabase, database_url, new_job
from .results import Measurement

JOBS = 40
KINDS = ("postgresql", "sqlite", "mariadb")


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p95 of 40 waits: the 38th)."""
    ranked = sorted(values)
    return ranked[max(0, min(len(ranked) - 1, round(share * len(ranked) + 0.5) - 1))]


def ours(database: QueueDatabase, jobs: int = JOBS, seed: int = 1) -> list[float]:
    """Each job's wait, in seconds, with one ``--loop`` worker at its defaults."""
    database.reset()
    worker = Running([sys.executable, "-m", "flask", "--app", "dashboard", "digest", "--loop"],
                     digest_env(database.url))
    try:
        with database.app.app_context():
            _wait_for(lambda: db.session.scalar(sa.select(sa.func.count()).where(
                DigestRun.finished_at.is_not(None))), 60, "the worker's first run")
            time.sleep(PICKUP_IDLE)
            pace = random.Random(seed)
            for number in range(jobs):
                db.session.rollback()
                JobRepository(db.session).save(new_job(number, 1))
                time.sleep(pace.uniform(*PICKUP_PAUSES))
            _wait_for(lambda: db.session.scalar(sa.select(sa.func.count()).where(
                Job.state == JobState.COMPLETED)) == jobs, 60, "every job to complete")
            rows = db.session.execute(
                sa.select(Job.created_at, sa.func.min(Attempt.started_at))
                .join(Request, Request.job_id == Job.id)
                .join(Attempt, Attempt.request_id == Request.id)
                .group_by(Job.id, Job.created_at)).all()
            db.session.rollback()
    finally:
        worker.send(signal.SIGTERM)
        worker.finish(timeout=30)
    return [(started - created).total_seconds() for created, started in rows]


def poll_cost(database: QueueDatabase, rounds: int = 2000) -> float:
    """Milliseconds of one poll of SQLite and MariaDB (``wakeup.Poller.poll``), on the
    jobs table as it is."""
    with database.app.app_context():
        poller = wakeup.Poller(db.engine, interval=5)
        try:
            poller.poll()
            started = time.perf_counter()
            for _ in range(rounds):
                poller.poll()
            return 1000 * (time.perf_counter() - started) / rounds
        finally:
            poller.close()


#: Jobs of the poll's table: "about 1 ms or less on a 1,000,000-job table".
MILLION = 1_000_000
#: Rows written by bulk SQL, with what every column needs and nothing more.
SEED = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
              "INSERT INTO jobs (source_id, state, next_attempt_at, created_at, updated_at, "
              "priority) SELECT 'default', 'completed', NULL, '2026-01-01 00:00:00', "
              "'2026-01-01 00:00:00', 0 FROM n",
    "mariadb": "INSERT INTO jobs (source_id, state, next_attempt_at, created_at, updated_at, "
               "priority) SELECT 'default', 'completed', NULL, '2026-01-01', '2026-01-01', 0 "
               "FROM seq_1_to_{count}",
}


def poll_cost_on_a_million(database: QueueDatabase) -> float:
    """``poll_cost`` with MILLION jobs in the table (seeded by bulk SQL, emptied after)."""
    database.reset()
    with database.app.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql(SEED[database.kind].format(count=MILLION))
    try:
        return poll_cost(database)
    finally:
        database.reset()


def measurement(waits: list[float]) -> tuple[Measurement, Measurement]:
    """p50 and p95, in milliseconds."""
    return (Measurement(value=1000 * percentile(waits, 0.5), done=len(waits), expected=JOBS),
            Measurement(value=1000 * percentile(waits, 0.95), done=len(waits), expected=JOBS))


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        db.session.rollback()
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: timed out waiting for {what}")
        time.sleep(0.05)
    db.session.rollback()


def summary(name: str, waits: list[float]) -> str:
    return (f"{name}: p50 {1000 * percentile(waits, 0.5):.0f} ms, "
            f"p95 {1000 * percentile(waits, 0.95):.0f} ms, max {1000 * max(waits):.0f} ms, "
            f"mean {1000 * statistics.fmean(waits):.0f} ms ({len(waits)} jobs)")


def key(name: str, share: str) -> str:
    """``pickup/postgresql/p50``, ``pickup/pgqueuer/p95``..."""
    return f"pickup/{name}/{share}"


NAMES = (*KINDS, "pgqueuer")
LABELS = {"postgresql": "ours: PostgreSQL (NOTIFY)", "sqlite": "ours: SQLite (poll)",
          "mariadb": "ours: MariaDB (poll)", "pgqueuer": "pgqueuer: `pgq run`, its defaults"}


def pickup_round(results, databases: dict[str, QueueDatabase], record, *,
                 poll: bool = False) -> None:
    """One round: ours on each database, then pgqueuer; p50 and p95 in ms, each a key;
    ``poll``: also the poll's cost on a million jobs (minutes: once a run is enough)."""
    from . import peers

    for name in NAMES:
        if name == "pgqueuer":
            waits = peers.PGQUEUER.helper("pickup", JOBS)["waits"]
        else:
            waits = ours(databases[name])
            if poll and name != "postgresql":
                record(results, key(name, "poll"), Measurement(
                    value=poll_cost_on_a_million(databases[name])), "ms a poll")
        p50, p95 = measurement(waits)
        record(results, key(name, "p50"), p50, "ms")
        record(results, key(name, "p95"), p95, "ms")
        print(f"bench: {summary(name, waits)}", flush=True)


def main() -> None:
    from . import peers

    workdir = Path(tempfile.mkdtemp(prefix="aq-bench-pickup-"))
    for kind in KINDS:
        database = QueueDatabase(kind, database_url(kind, f"{DATABASE_PREFIX}_pickup", workdir))
        try:
            print(summary(f"ours, {kind}", ours(database)), flush=True)
            if kind != "postgresql":
                print(f"poll on {kind}, {MILLION:,} jobs: "
                      f"{poll_cost_on_a_million(database):.3f} ms", flush=True)
        finally:
            database.dispose()
    peers.ensure_venv()
    peers.PGQUEUER.helper("setup")
    print(summary("pgqueuer", peers.PGQUEUER.helper("pickup", JOBS)["waits"]), flush=True)


if __name__ == "__main__":
    main()
