"""How fast the dashboard answers with a million jobs in PostgreSQL, or 100,000 in SQLite.

    .venv/bin/python bench/dashboard.py [--jobs 1000000] [--reseed | --cold] [--runs 20]
    .venv/bin/python bench/dashboard.py --sqlite /tmp/bench.sqlite [--jobs 100000]

Seeds a database of its own (``aq_bench_dashboard`` on the local PostgreSQL, made if
missing, reused if already seeded; or the SQLite file given) with bulk SQL (rows made in
Python on SQLite, the same mix): 1,000,000 jobs, 3 requests each, and their attempts, in a
realistic mix of states, types, relations and stores. Then it serves
the pages in process through Flask's test client (a logged-in operator, templates
rendered, every query run) and prints the median and 95th percentile of ``--runs``
requests per page, and the EXPLAIN ANALYZE plans of the list queries.

A database just seeded is measured twice: as loaded ("cold": no planner statistics, no
visibility map, as before autovacuum's first visit), then after ``VACUUM ANALYZE``
(``ANALYZE`` on SQLite; "analyzed"). One that has statistics already is measured
analyzed only: ``--reseed`` for both rows. On PostgreSQL the seed goes into a database of
its own that is never analyzed nor read (``aq_bench_dashboard_loaded``), and the database
measured is a copy of it (``CREATE DATABASE ... TEMPLATE``, a copy of the files: no
statistics, no visibility map, as the seed left it); ``--cold`` makes that copy again
without seeding, for the cold row in a minute instead of a new seed. The cold row is
measured only where the jobs table has no statistics.

Target: the list and the detail page answer in under 100 ms (median).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed_rows import seed_sqlite
from dashboard import create_app
from dashboard.actions.bulk import apply_bulk
from dashboard.app.extensions import db
from dashboard.auth import sessions
from dashboard.auth.models import User, new_user
from dashboard.db import utcnow
from dashboard.queries.filters import parse_filter
from dashboard.queries.jobs import list_query

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TYPES = ["crm_customer_sync", "crm_address_sync", "loyalty_points", "loyalty_tier",
         "newsletter_subscribe", "erp_order_export", "webhook_notify", "invoice_send"]
#: Indexes dropped while seeding and built again afterwards (much faster than
#: maintaining them row by row).
TABLES = ("jobs", "requests", "attempts")

# Job states by a hash of the id (per thousand): 90% completed, 3% failed, 2% cancelled,
# 1% retrying, 3.5% pending, 0.4% paused, 0.1% running.
JOBS_SQL = """
INSERT INTO jobs (id, relation_id, source_id, store_id, state, next_attempt_at, created_at,
                  updated_at, finished_at)
SELECT g,
       'cust-' || (g % (:jobs / 5)),
       CASE g % 10 WHEN 0 THEN 'erp' WHEN 1 THEN 'webhooks' ELSE 'default' END,
       1 + g % 5,
       s.state,
       CASE WHEN s.state IN ('pending', 'retrying') THEN c.at + interval '2 hours' END,
       c.at, c.at + interval '3 minutes',
       CASE WHEN s.state IN ('completed', 'failed', 'cancelled')
            THEN c.at + interval '3 minutes' END
FROM generate_series(1, :jobs) AS g
CROSS JOIN LATERAL (SELECT now() AT TIME ZONE 'UTC' - interval '90 days'
                           + (g * interval '90 days') / :jobs AS at) AS c
CROSS JOIN LATERAL (SELECT CASE
        WHEN (g::bigint * 7919) % 1000 < 900 THEN 'completed'
        WHEN (g::bigint * 7919) % 1000 < 930 THEN 'failed'
        WHEN (g::bigint * 7919) % 1000 < 950 THEN 'cancelled'
        WHEN (g::bigint * 7919) % 1000 < 960 THEN 'retrying'
        WHEN (g::bigint * 7919) % 1000 < 995 THEN 'pending'
        WHEN (g::bigint * 7919) % 1000 < 999 THEN 'paused'
        ELSE 'running' END AS state) AS s
"""

# Three requests a job; what each became follows its job's state.
REQUESTS_SQL = """
INSERT INTO requests (id, job_id, position, type_code, payload, payload_search, state,
                      attempts, last_error, result, created_at, updated_at)
SELECT (j.id - 1) * 3 + p + 1, j.id, p,
       (ARRAY[{types}])[1 + (j.id + p * 3) % 8],
       pl.payload, replace(pl.payload, '"not-shown"', '"••••••"'),
       r.state,
       CASE r.state WHEN 'succeeded' THEN 1 WHEN 'failed' THEN 9 WHEN 'retrying' THEN 2
                    ELSE 0 END,
       CASE WHEN r.state IN ('failed', 'retrying') THEN
           (ARRAY['ConnectionError: crm.example.test timed out after 30 s',
                  'HTTPError: 503 Service Unavailable from the loyalty API',
                  'customer ' || (j.id % 200000) || ' is outside the synced groups',
                  'HTTPError: 422 invalid address for order ' || (j.id * 31 % 9973)])
           [1 + j.id % 4] END,
       CASE WHEN r.state = 'succeeded' THEN
           json_build_object('remote_id', 'R-' || j.id || '-' || p)::text END,
       j.created_at, j.updated_at
FROM jobs j
CROSS JOIN generate_series(0, 2) AS p
CROSS JOIN LATERAL (SELECT json_build_object('customer_id', j.id % 200000, 'email',
        'c' || (j.id % 200000) || '@example.test', 'store', j.store_id, 'step', p,
        'password', 'not-shown', 'note',
        'order ' || (j.id * 31 % 9973) || ' for ' || j.relation_id)::text AS payload) AS pl
CROSS JOIN LATERAL (SELECT CASE
        WHEN j.state = 'completed' THEN 'succeeded'
        WHEN j.state IN ('failed', 'retrying', 'cancelled', 'running') AND p = 0
            THEN 'succeeded'
        WHEN j.state = 'failed' AND p = 1 THEN 'failed'
        WHEN j.state = 'retrying' AND p = 1 THEN 'retrying'
        WHEN j.state = 'running' AND p = 1 THEN 'running'
        WHEN j.state = 'cancelled' THEN 'cancelled'
        ELSE 'pending' END AS state) AS r
"""

# Every attempt: one for a success (one in ten succeeded at the second try), nine for a
# request that failed for good, two so far for one that is retrying.
ATTEMPTS_SQL = """
INSERT INTO attempts (request_id, number, started_at, finished_at, outcome, error, traceback)
SELECT r.id, n,
       r.created_at + n * interval '1 minute',
       r.created_at + n * interval '1 minute' + interval '350 milliseconds',
       CASE WHEN r.state = 'succeeded' AND n = tries THEN 'succeeded' ELSE 'failed' END,
       CASE WHEN r.state = 'succeeded' AND n = tries THEN NULL
            ELSE coalesce(r.last_error, 'ConnectionError: timed out') END,
       CASE WHEN r.state = 'succeeded' AND n = tries THEN NULL ELSE
            'Traceback (most recent call last):' || chr(10) ||
            '  File "myapp/queue_types.py", line 42, in execute' || chr(10) ||
            coalesce(r.last_error, 'ConnectionError: timed out') END
FROM requests r
CROSS JOIN LATERAL (SELECT CASE
        WHEN r.state = 'failed' THEN 9
        WHEN r.state = 'retrying' THEN 2
        WHEN r.id % 10 = 0 THEN 2
        ELSE 1 END AS tries) AS t
CROSS JOIN LATERAL generate_series(1, t.tries) AS n
WHERE r.state IN ('succeeded', 'failed', 'retrying')
"""

RUNS_SQL = """
INSERT INTO digest_runs (worker, started_at, finished_at, jobs, succeeded, failed, retrying)
SELECT 'bench:1:' || g, now() AT TIME ZONE 'UTC' - g * interval '1 minute',
       now() AT TIME ZONE 'UTC' - g * interval '1 minute' + interval '4 seconds',
       40, 110, 3, 5
FROM generate_series(1, 2000) AS g
"""


def database_url(name: str) -> str:
    return sa.make_url(SERVER).set(database=name).render_as_string(hide_password=False)


def template_name(name: str) -> str:
    """The database seeded once and never analyzed, that ``name`` is copied from."""
    return f"{name}_loaded"


def server_has(connection: sa.Connection, name: str) -> bool:
    return bool(connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}))


def ensure_database(name: str, reseed: bool, cold: bool, jobs: int) -> None:
    """Seed the template if asked or missing, and copy it to ``name`` if asked or missing
    (``name`` is left as it is otherwise: analyzed, if a run analyzed it)."""
    template = template_name(name)
    engine = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if reseed or not server_has(connection, template):
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{template}"')
            seed_template(template, jobs)
        if reseed or cold or not server_has(connection, name):
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            started = time.monotonic()
            connection.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            print(f"copied {template} to {name} in {time.monotonic() - started:.0f} s",
                  flush=True)
    engine.dispose()


def seed_template(template: str, jobs: int) -> None:
    """Migrate and seed the template, then let go of it (a template takes no
    connections while it is copied)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(template),
                      "SECRET_KEY": "bench"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seed(jobs)
        db.engine.dispose()


def step(label: str, connection: sa.Connection, sql: str, **params: object) -> None:
    started = time.monotonic()
    result = connection.execute(sa.text(sql), params)
    print(f"  {label}: {result.rowcount:,} rows in {time.monotonic() - started:.1f} s",
          flush=True)


def seed(jobs: int) -> None:
    """Fill the tables with bulk SQL, indexes dropped meanwhile and rebuilt after."""
    print(f"seeding {jobs:,} jobs ...", flush=True)
    started = time.monotonic()
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SET synchronous_commit = off")
        connection.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        indexes = connection.execute(sa.text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = ANY(:tables) AND i.schemaname = current_schema() "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
            {"tables": list(TABLES)}).all()
        for name, _ in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        connection.commit()
        step("jobs", connection, JOBS_SQL, jobs=jobs)
        connection.commit()
        types = ", ".join(f"'{t}'" for t in TYPES)
        step("requests", connection, REQUESTS_SQL.format(types=types))
        connection.commit()
        step("attempts", connection, ATTEMPTS_SQL)
        connection.commit()
        step("digest runs", connection, RUNS_SQL)
        for table, column in (("jobs", "id"), ("requests", "id"), ("attempts", "id")):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"(SELECT max({column}) FROM {table}))")
        connection.commit()
        for name, definition in indexes:
            index_started = time.monotonic()
            connection.exec_driver_sql(definition)
            connection.commit()
            print(f"  index {name}: {time.monotonic() - index_started:.1f} s", flush=True)
        connection.commit()
    # No ANALYZE here: the first pass measures the database as loaded ("cold", no
    # statistics yet, as before autovacuum's first round), main() analyzes it afterwards.
    print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)


def analyzed(connection: sa.Connection) -> bool:
    """Whether jobs, requests or attempts has statistics (ANALYZE, by hand or by
    autovacuum)."""
    if connection.dialect.name == "sqlite":
        return bool(connection.scalar(sa.text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")))
    return bool(connection.scalar(sa.text(
        "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
        "AND tablename = ANY(:tables)"), {"tables": list(TABLES)}))


def analyze() -> None:
    """What autovacuum does soon after a bulk load: statistics, and the visibility map
    that lets index-only scans skip the table."""
    started = time.monotonic()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if connection.dialect.name != "sqlite"
                                   else "ANALYZE")
    print(f"\nanalyzed in {time.monotonic() - started:.0f} s", flush=True)


def measure(client, url: str, runs: int) -> tuple[float, float]:
    for _ in range(2):  # warm the caches and the connection pool
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def explain(label: str, params: dict[str, str], before: int | None = None) -> None:
    query = list_query(parse_filter(params), before=before)
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    # (the compiler doubles % for the driver; sa.text will double them again)
    sql = sql.replace("%%", "%")
    if db.engine.dialect.name == "sqlite":
        plan = [row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
    else:
        plan = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars().all()
    db.session.rollback()
    print(f"\n-- {label}\n{sql}\n" + "\n".join(plan))


def bulk_timing(count: int) -> None:
    """Pause, then resume, the newest ``count`` pending jobs (the data ends as it was)."""
    ids = list(db.session.scalars(sa.text(
        f"SELECT id FROM jobs WHERE state = 'pending' ORDER BY id DESC LIMIT {count}")))
    for action in ("pause", "resume"):
        started = time.perf_counter()
        db.session.rollback()
        done = apply_bulk(db.session, action, ids, actor="bench", now=utcnow())
        db.session.commit()
        print(f"bulk {action} of {len(ids):,} jobs: {len(done.changed):,} changed, "
              f"{len(done.refused)} refused, in {time.perf_counter() - started:.1f} s")


COLD = "as loaded: no statistics; on PostgreSQL no visibility map either"
ANALYZED = "after VACUUM ANALYZE, or ANALYZE on SQLite"


def plans(relation: str, total: int, pages: str) -> None:
    """The EXPLAIN ANALYZE plans of the list's main query, for the pages measured."""
    print("\nEXPLAIN ANALYZE of the list's main query:")
    for label, params, before in (
            ("unfiltered", {}, None),
            ("state=failed", {"state": "failed"}, None),
            ("type=loyalty_tier", {"type": "loyalty_tier"}, None),
            ("relation", {"relation": relation}, None),
            ("search a customer id", {"q": "c123456"}, None),
            ("search an e-mail address", {"q": "c123456@example.test"}, None),
            ("search an error", {"q": "invalid address for order 4242"}, None),
            ("search + state", {"q": "503 Service", "state": "retrying"}, None),
            ("deep page", {}, total // 3),
            ("waiting=due", {"waiting": "due"}, None),
            ("waiting=blocked", {"waiting": "blocked"}, None)):
        if any(part in label for part in pages.split(",")):
            explain(label, params, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="aq_bench_dashboard")
    parser.add_argument("--sqlite", metavar="FILE", help="an SQLite file instead")
    parser.add_argument("--jobs", type=int, help="default: 1,000,000; 100,000 on SQLite")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reseed", action="store_true", help="drop and seed again")
    parser.add_argument("--cold", action="store_true",
                        help="PostgreSQL: copy the seeded template again, measure it cold")
    parser.add_argument("--pages", default="",
                        help="only the pages whose label has one of these (comma-separated)")
    parser.add_argument("--no-plans", action="store_true", help="no bulk timing, no plans")
    args = parser.parse_args()

    if args.sqlite:
        if args.reseed:
            Path(args.sqlite).unlink(missing_ok=True)
        url = f"sqlite:///{Path(args.sqlite).resolve()}"
    jobs = args.jobs or (100_000 if args.sqlite else 1_000_000)
    if not args.sqlite:
        ensure_database(args.database, args.reseed, args.cold, jobs)
        url = database_url(args.database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seeded = db.session.scalar(sa.text("SELECT count(*) FROM (SELECT 1 FROM jobs LIMIT 1) j"))
        db.session.rollback()
        if not seeded and args.sqlite:
            seed_sqlite(db.engine, jobs, TYPES, utcnow().replace(tzinfo=None))
        elif not seeded:
            seed(jobs)
        user = db.session.scalar(sa.select(User).where(User.name == "bench"))
        if user is None:
            user = new_user("bench", "operator", "bench-password")
            db.session.add(user)
            db.session.commit()
        # A server-side session, as a login starts one (the cookie holds its key).
        login_key = sessions.start(db.session, user, now=utcnow())
        db.session.commit()
        total = db.session.scalar(sa.text("SELECT max(id) FROM jobs"))
        failed = db.session.scalar(sa.text(
            "SELECT max(id) FROM jobs WHERE state = 'failed'"))
        relation = db.session.scalar(sa.text(f"SELECT relation_id FROM jobs WHERE id = {failed}"))
        db.session.rollback()

    pages = {
        "overview / (with the minute strip)": "/",
        "types, last hour": "/types?window=1h",
        "types, last 24 hours": "/types?window=24h",
        "list, unfiltered": "/jobs",
        "list, waiting=due": "/jobs?waiting=due",
        "list, waiting=blocked": "/jobs?waiting=blocked",
        "list, waiting=scheduled": "/jobs?waiting=scheduled",
        "list, state=failed": "/jobs?state=failed",
        "list, type=loyalty_tier": "/jobs?type=loyalty_tier",
        f"list, relation={relation}": f"/jobs?relation={relation}",
        "list, store=3 & state=retrying": "/jobs?store=3&state=retrying",
        "list, search a customer id": "/jobs?q=c123456",
        "list, search an e-mail address": "/jobs?q=c123456%40example.test",
        "list, search an error": "/jobs?q=invalid+address+for+order+4242",
        "list, search + state": "/jobs?q=503+Service&state=retrying",
        f"list, deep page (before={total // 3})": f"/jobs?before={total // 3}",
        "list, deep page, state=failed": f"/jobs?state=failed&before={total // 4}",
        f"detail, failed job #{failed}": f"/jobs/{failed}",
        "audit log": "/audit",
    }
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = login_key
    with app.app_context(), db.engine.connect() as connection:
        passes = ["analyzed"] if analyzed(connection) else ["cold", "analyzed"]
    for name in passes:
        if name == "analyzed" and passes[0] == "cold":
            with app.app_context():
                analyze()
        print(f"\n{total:,} jobs, {name} ({COLD if name == 'cold' else ANALYZED}); "
              f"{args.runs} requests per page, in ms (Flask test client, templates rendered)\n")
        print(f"{'page':44} {'median':>8} {'p95':>8}")
        for label, url in pages.items():
            if not any(part in label for part in args.pages.split(",")):
                continue
            median, p95 = measure(client, url, args.runs)
            print(f"{label:44} {median:8.1f} {p95:8.1f}", flush=True)
        if not args.no_plans:
            with app.app_context():
                plans(relation, total, args.pages)

    if not args.no_plans:
        with app.app_context():
            bulk_timing(10_000)


if __name__ == "__main__":
    main()
