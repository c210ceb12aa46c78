"""The digest's peak RSS with a large backlog of due jobs (PostgreSQL, seeded by bulk SQL)."""

from __future__ import annotations

import time

from dashboard.app.extensions import db

from .noop import TYPE_CODE
from .ours import digest_command, digest_env
from .process import run
from .queue_db import QueueDatabase
from .results import Measurement

#: Naive UTC timestamps an hour back, one microsecond apart: the oldest job first.
SEED_JOBS = """
INSERT INTO jobs (relation_id, source_id, store_id, state, next_attempt_at, created_at,
                  updated_at)
SELECT 'cust-' || g, 'default', 1 + g %% 3, 'pending', t, t, t
FROM (SELECT g, (now() AT TIME ZONE 'utc') - interval '1 hour' + g * interval '1 microsecond'
             AS t
      FROM generate_series(1, %(jobs)s) AS g) AS seq
"""
SEED_REQUESTS = """
INSERT INTO requests (job_id, position, type_code, payload, payload_search, state, attempts,
                      created_at, updated_at)
SELECT id, 0, %(type)s, '{"n": ' || id || '}', '{"n": ' || id || '}', 'pending', 0, created_at,
       created_at FROM jobs
"""


def seed(database: QueueDatabase, jobs: int) -> float:
    """Fill an empty queue with ``jobs`` due one-request jobs; returns the seconds it took."""
    started = time.perf_counter()
    database.reset()
    with database.app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql(SEED_JOBS, {"jobs": jobs})
        connection.exec_driver_sql(SEED_REQUESTS, {"type": TYPE_CODE})
    with database.app.app_context():
        database.analyze()
    return time.perf_counter() - started


def digest_peak_rss(database: QueueDatabase, max_jobs: int, cap: float) -> Measurement:
    """Peak RSS (MB) of one ``flask --app dashboard digest --max-jobs N`` on this database."""
    finished = run(digest_command(max_jobs, cap), digest_env(database.url),
                   timeout=cap + 300).check()
    window = database.window()
    return Measurement(value=finished.max_rss_mb, done=window.jobs, expected=max_jobs,
                       seconds=window.seconds, wall=finished.wall, rss_mb=finished.max_rss_mb)
