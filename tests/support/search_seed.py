"""A large queue for the text search's tests and benchmark: jobs whose payloads name their
customer ("cust-N"), seeded by bulk SQL on each database."""

from __future__ import annotations

import sqlalchemy as sa

JOBS = 100_000
#: Every job's payload names its customer: "cust-N" (each one of the search's trigrams
#: is in every row, so a search of "cust-x" reads them all, on PostgreSQL too).
SEED_POSTGRESQL = """
INSERT INTO jobs (relation_id, source_id, state, priority, created_at, updated_at)
SELECT 'cust-' || g, 'default', 'completed', 0, now(), now()
FROM generate_series(1, %(jobs)s) AS g
"""
SEED_OTHERS = """
INSERT INTO jobs (relation_id, source_id, state, priority, created_at, updated_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {jobs})
SELECT {name}, 'default', 'completed', 0, '2026-01-05 09:00:00', '2026-01-05 09:00:00'
FROM seq
"""
SEED_REQUESTS = """
INSERT INTO requests (job_id, position, type_code, payload, payload_search, state, attempts,
                      created_at, updated_at)
SELECT id, 0, 'test_echo', {payload}, {payload}, 'succeeded', 1, created_at, created_at
FROM jobs
"""
#: The searches of the finding: no run of three letters or digits in any.
NO_TRIGRAM = ["\\" * 200, "ab", "__", "%"]


def seed(connection: sa.Connection, jobs: int) -> None:
    """``jobs`` completed jobs of one request each, by a few statements of bulk SQL."""
    kind = connection.dialect.name
    if kind == "postgresql":
        connection.exec_driver_sql(SEED_POSTGRESQL, {"jobs": jobs})
    else:
        if kind != "sqlite":
            connection.exec_driver_sql(f"SET SESSION max_recursive_iterations = {jobs + 1}")
        name = "'cust-' || n" if kind == "sqlite" else "CONCAT('cust-', n)"
        connection.exec_driver_sql(SEED_OTHERS.format(jobs=jobs, name=name))
    payload = ("'{\"customer\": \"' || relation_id || '\"}'" if kind != "mysql" else
               "CONCAT('{\"customer\": \"', relation_id, '\"}')")
    connection.exec_driver_sql(SEED_REQUESTS.format(payload=payload))
    if kind == "postgresql":
        connection.exec_driver_sql("ANALYZE jobs")
        connection.exec_driver_sql("ANALYZE requests")
