"""A digest process's start-up (issue 24, part 5): from spawn to its first claim, spawn to
exit, and peak RSS, on a queue of one due no-op job, as cron pays them every minute.

    .venv/bin/python -m bench.startup [ROUNDS]

The first claim is read from the database: the run's record (``digest_runs.started_at``)
is written just before the claim, on this host's clock, as is the spawn time.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue import DigestRun, JobRepository

from .ours import digest_env
from .process import DATABASE_PREFIX, Running
from .queue_db import QueueDatabase, database_url, new_job

COMMANDS = {
    "flask --app dashboard digest": [sys.executable, "-m", "flask", "--app", "dashboard",
                                     "digest"],
    "python -m dashboard digest": [sys.executable, "-m", "dashboard", "digest"],
    # What a digest loaded before it had an app of its own: pages, API, flask db and all.
    "the full app's digest": [sys.executable, "-c", (
        "from dashboard import create_app; from dashboard.cli.queue import digest_command\n"
        "with create_app(digest_only=False).app_context():\n"
        "    digest_command.main([], standalone_mode=False)")],
}


def once(database: QueueDatabase, command: list[str]) -> tuple[float, float, float, float]:
    """(spawn to first claim, spawn to exit, CPU seconds, peak RSS in MB) of one digest
    run. Its CPU time tells the start-up's cost on a busy machine better than its wall."""
    database.reset()
    with database.app.app_context():
        JobRepository(db.session).save(new_job(0, 1))
        db.session.remove()
    spawned = time.time()
    finished = Running(command, digest_env(database.url)).finish(timeout=120).check()
    with database.app.app_context():
        started = db.session.scalar(sa.select(sa.func.min(DigestRun.started_at)))
        db.session.remove()
    return (started.replace(tzinfo=UTC).timestamp() - spawned, finished.wall, finished.cpu,
            finished.max_rss_mb)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workdir = Path(tempfile.mkdtemp(prefix="aq-bench-startup-"))
    for kind in ("postgresql", "sqlite"):
        database = QueueDatabase(kind, database_url(kind, f"{DATABASE_PREFIX}_startup",
                                                    workdir))
        try:
            for name, command in COMMANDS.items():
                runs = [once(database, command) for _ in range(rounds)]
                claim, wall, cpu, rss = (statistics.median(column)
                                         for column in zip(*runs, strict=True))
                print(f"{kind}, {name}: spawn to first claim {claim:.2f} s, spawn to exit "
                      f"{wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss:.0f} MB "
                      f"(medians of {rounds})", flush=True)
        finally:
            database.dispose()


if __name__ == "__main__":
    main()
