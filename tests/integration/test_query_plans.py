"""The digest's due-job query and the dashboard's list queries keep to their indexes on a
large backlog (PostgreSQL).

Each query is the one the digest or the page really sends, caught on its way to the
server, so the tests follow the code as it changes. The claim's plan is read twice: as
planned for the values of one claim, and as the generic plan PostgreSQL switches to once
psycopg has prepared the statement (after five runs on one connection, as in any digest
run).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask

from dashboard.app.extensions import db
from dashboard.auth.models import Role
from dashboard.queries import errors, overview, types, waiting
from dashboard.queries.filters import JobFilter, parse_filter
from dashboard.queries.jobs import conditions, list_query
from dashboard.queries.ordering import COUNT_CAP, SORTS, capped_count, parse_cursor
from dashboard.queue.database.engine_setup import prepare_engine
from dashboard.queue.jobs.states import JobState
from dashboard.queue.store import claims, dialect
from tests.support import plans
from tests.support.apps import database_url, module_app
from tests.support.clock import T0
from tests.support.plans import sent_statement
from tests.support.web import add_user, log_in

pytestmark = pytest.mark.slow
VIEWERS = itertools.count()

BACKLOG = 50_000
#: A live queue: most jobs done, some due, some waiting for a retry, a few failed or paused;
#: ten jobs per relation, so that earlier unfinished jobs hold later ones back; one job in
#: seven of high priority, one in eleven of low.
SEED = """
INSERT INTO jobs (relation_id, source_id, store_id, state, next_attempt_at, created_at,
                  updated_at, finished_at, priority)
SELECT 'cust-' || (g %% 5000), 'default', 1 + g %% 3, s.state,
       CASE s.state WHEN 'pending' THEN t
                    WHEN 'retrying' THEN t + interval '2 days' END,
       t, t, CASE WHEN s.state IN ('completed', 'failed') THEN t END,
       CASE WHEN g %% 7 = 0 THEN 10 WHEN g %% 11 = 0 THEN -10 ELSE 0 END
FROM generate_series(1, %(count)s) AS g,
     LATERAL (SELECT %(t0)s - (%(count)s - g) * interval '1 second' AS t) AS ts,
     LATERAL (SELECT CASE WHEN g %% 100 < 80 THEN 'completed'
                          WHEN g %% 100 < 90 THEN 'pending'
                          WHEN g %% 100 < 95 THEN 'retrying'
                          WHEN g %% 100 < 98 THEN 'failed'
                          ELSE 'paused' END AS state) AS s
"""
#: One request per job: three types, payloads naming the job's customer, a failure reason
#: on the failed ones.
SEED_REQUESTS = """
INSERT INTO requests (job_id, position, type_code, payload, payload_search, state, attempts,
                      last_error, created_at, updated_at)
SELECT j.id, 0, (ARRAY['customer_sync', 'loyalty_points', 'webhook'])[1 + j.id %% 3],
       pl.payload, pl.payload,
       CASE j.state WHEN 'completed' THEN 'succeeded' WHEN 'paused' THEN 'pending'
                    ELSE j.state END,
       CASE WHEN j.state = 'pending' THEN 0 ELSE 1 END,
       CASE WHEN j.state = 'failed' THEN 'HTTP 503 from the shop' END,
       j.created_at, j.created_at
FROM jobs AS j,
     LATERAL (SELECT '{"customer": "' || j.relation_id || '", "email": "c' || j.id
                     || '@example.com"}' AS payload) AS pl
"""


@pytest.fixture(scope="module", params=["postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """PostgreSQL only: SQLite's and MariaDB's planners differ, and the issue's targets are
    PostgreSQL's."""
    return database_url(request.param, tmp_path_factory.mktemp("plans"))


@pytest.fixture(scope="module")
def app(db_url: str) -> Iterator[Flask]:
    """One app and one backlog for the module: the tests only read it (what they write,
    they roll back)."""
    with module_app(db_url) as app:
        yield app


@pytest.fixture(scope="module")
def backlog(app: Flask):
    with db.engine.begin() as connection:
        connection.exec_driver_sql(SEED, {"count": BACKLOG, "t0": T0.replace(tzinfo=None)})
        connection.exec_driver_sql(SEED_REQUESTS)
        connection.exec_driver_sql("ANALYZE jobs")
        connection.exec_driver_sql("ANALYZE requests")
        states = dict(connection.execute(sa.text(
            "SELECT state, count(*) FROM jobs GROUP BY state")).all())
    # A real backlog: due jobs among many more done ones.
    assert sum(states.values()) == BACKLOG and states["completed"] > states["pending"] > 0
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE jobs CASCADE")


@pytest.fixture(autouse=True)
def fresh_session(app: Flask) -> Iterator[None]:
    """Each test gets a database session of its own, as with the function-scoped app."""
    yield
    db.session.remove()


def claim_statement() -> tuple[str, dict]:
    """The digest's claim (the lease of what lock_due_jobs locks, and the claimed jobs'
    requests), with its parameters."""
    return sent_statement(lambda connection: dialect.POSTGRESQL.claim(
        connection, claims.Lease("plan-test", 300), due_by=T0, now=T0, limit=10),
        "lock_due_jobs")


def plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def scans_of_jobs(plan: dict) -> list[str]:
    """The scans of the jobs table (any alias), as "Node Type on index"."""
    found = []
    for node in plan_nodes(plan):
        index = node.get("Index Name", "")
        if node.get("Relation Name") == "jobs" or index.startswith(("ix_jobs", "pk_jobs")):
            found.append(f"{node['Node Type']} on {index or 'jobs'}")
    return found


def explain(connection: sa.Connection, statement: str, parameters: dict) -> dict:
    text = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
    return (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]


def assert_indexed(plan: dict, how: str) -> None:
    scans = scans_of_jobs(plan)
    shown = json.dumps(plan, indent=1)[:4000]
    assert not [s for s in scans if s.startswith("Seq Scan")], \
        f"{how}: the due-job query scans the whole jobs table: {scans}\n{shown}"
    assert any("Index" in s for s in scans), f"{how}: no index of jobs used: {scans}\n{shown}"


def test_the_due_job_query_uses_an_index(backlog) -> None:
    """The locking read, inside lock_due_jobs (migration 0008), as PostgreSQL runs it."""
    with db.engine.connect() as connection:
        plan = plans.explain_locking_read(connection, due_by=T0, now=T0, limit=10)
    assert_indexed(plan, "lock_due_jobs")


def prepared_plan(statement: str, parameters: dict, *, runs: int, mode: str) -> dict:
    """The plan PostgreSQL uses for the statement once prepared and run ``runs`` times
    (its plan cache keeps custom plans or settles on a generic one after five runs)."""
    names = list(parameters)
    positional = statement
    for number, name in enumerate(names, start=1):
        positional = positional.replace(f"%({name})s", f"${number}")
    values = [parameters[name] for name in names]
    arguments = ", ".join(["%s"] * len(values))
    with db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        cursor = psycopg.ClientCursor(raw)
        cursor.execute(f"SET plan_cache_mode = {mode}")
        cursor.execute(f"PREPARE due_jobs AS {positional}")
        for _ in range(runs):
            cursor.execute(f"EXECUTE due_jobs ({arguments})", values)
        cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE due_jobs ({arguments})", values)
        plan = cursor.fetchone()[0][0]["Plan"]
        raw.rollback()
        cursor.execute("DEALLOCATE due_jobs")
        cursor.execute("RESET plan_cache_mode")
        raw.commit()
    return plan


def test_the_due_job_query_run_again_and_again_keeps_to_an_index(backlog) -> None:
    """A digest claims hundreds of times on one connection: psycopg prepares the statement
    after five runs, and PostgreSQL's plan cache then chooses its plan."""
    statement, parameters = claim_statement()
    assert_indexed(prepared_plan(statement, parameters, runs=8, mode="auto"), "prepared, auto")


def test_the_generic_plan_of_the_claim_keeps_to_an_index(backlog) -> None:
    """Planned for any values, as a prepared claim may be."""
    statement, parameters = claim_statement()
    assert_indexed(prepared_plan(statement, parameters, runs=0, mode="force_generic_plan"),
                   "generic plan")


def test_the_expired_lease_query_uses_an_index(backlog) -> None:
    """Taking back the jobs of a digest that died reads the few running jobs through
    ix_jobs_state_id: there is no index on locked_until (see migration 0005)."""
    statement, parameters = sent_statement(
        lambda connection: claims.expired_jobs(connection, now=T0, limit=1000),
        "locked_until <")
    with db.engine.connect() as connection:
        plan = explain(connection, statement, parameters)
    assert_indexed(plan, "expired leases")
    assert "ix_jobs_state_id" in json.dumps(plan)


@pytest.mark.parametrize("params", [
    {}, {"state": "failed"}, {"state": "pending"}, {"type": "webhook"},
    {"relation": "cust-42"}, {"store": "2"}, {"source": "default"}, {"priority": "10"},
    {"state": "scheduled", "sort": "created"},
    {"from": "2026-03-01"}, {"q": "c4242@example.com"}, {"q": "HTTP 503"},
    {"waiting": "due"}, {"waiting": "blocked"}, {"waiting": "scheduled", "sort": "created"},
    {"error": "HTTP # from the shop"},
], ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()) or "unfiltered")
@pytest.mark.parametrize("before", [None, 1_000], ids=["first page", "deep page"])
def test_the_job_list_queries_use_indexes(backlog, app, params, before) -> None:
    """The page's main query (newest first, a page at a time, filtered by one column or
    by text), as the page sends it, reads jobs through an index, never the whole table."""
    # A viewer of its own: the users table outlives the test, with the backlog.
    viewer = add_user(db.session, f"viewer-{next(VIEWERS)}", Role.VIEWER)
    client = log_in(app.test_client(), viewer)
    query = {**params, **({} if before is None else {"before": str(before)})}
    statement, parameters = sent_by_page(client, "/jobs", query, "ORDER BY jobs.id DESC")
    with db.engine.connect() as connection:
        assert_indexed(explain(connection, statement, parameters), f"list {params}")


@pytest.mark.parametrize("params", [{"state": "scheduled"}, {"waiting": "scheduled"}])
def test_scheduled_jobs_are_listed_soonest_first_through_an_index(backlog, app, params):
    """Scheduled lists read soonest first by default (sort=next): an index walk too."""
    viewer = add_user(db.session, f"viewer-{next(VIEWERS)}", Role.VIEWER)
    client = log_in(app.test_client(), viewer)
    statement, parameters = sent_by_page(client, "/jobs", params,
                                         "next_attempt_at IS NOT NULL ORDER BY")
    with db.engine.connect() as connection:
        assert_indexed(explain(connection, statement, parameters), f"list {params}")


def sent_by_page(client, url: str, query: dict, marker: str) -> tuple[str, dict]:
    """The one statement containing ``marker`` that the page at ``url`` sends."""
    caught: list[tuple[str, dict]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if marker in statement:
            caught.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        response = client.get(url, query_string=query)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert len(caught) == 1, f"expected one statement with {marker!r}, caught {caught}"
    return caught[0]


def test_the_digests_claim_with_its_requests_uses_indexes(backlog) -> None:
    """The statement a digest sends on PostgreSQL: the claim, and the claimed jobs'
    requests with their last attempt numbers, by index on every table."""
    statement, sent = claim_statement()
    with db.engine.connect() as connection:
        plan = explain(connection, statement, sent)
    assert_indexed(plan, "claim and read")
    scans = [f"{node['Node Type']} on {node.get('Relation Name')}" for node in plan_nodes(plan)]
    assert not [s for s in scans if s.startswith("Seq Scan")], scans


@pytest.mark.parametrize(("sort", "index"), [
    ("next", "ix_jobs_next_attempt"),   # due jobs, soonest next attempt first
    ("failed", "ix_jobs_failed_at"),    # failed jobs, latest failure first
])
# The deep page starts five hours back: thousands of due and of failed jobs lie after it.
@pytest.mark.parametrize("cursor", [None, (T0 - timedelta(hours=5)).isoformat() + "~1000"],
                         ids=["first page", "deep page"])
def test_the_sorted_job_list_walks_its_index(backlog, sort, index, cursor) -> None:
    """Each sort order reads its own index from the cursor on: no sort of every matching
    job before the first 51 come out."""
    order = SORTS[sort]
    query = list_query(JobFilter(), sort=order, cursor=parse_cursor(order, cursor))
    statement, parameters = sent_statement(
        lambda connection: connection.execute(query).all(), "ORDER BY jobs.")
    with db.engine.connect() as connection:
        plan = explain(connection, statement, parameters)
    assert_indexed(plan, f"sorted by {sort}")
    assert index in json.dumps(plan)
    assert not [n for n in plan_nodes(plan) if "Sort" in n["Node Type"]], json.dumps(plan)[:3000]


@pytest.mark.parametrize("params", [{}, {"state": "completed"}, {"q": "example.com"}],
                         ids=["unfiltered", "state", "text search"])
def test_the_count_stops_at_its_cap(backlog, params) -> None:
    """"37 matching" reads at most 10,001 rows, whatever the filter matches."""
    where = conditions(parse_filter({k: [v] for k, v in params.items()}))
    statement, parameters = sent_statement(
        lambda connection: capped_count(connection, where), "count(")
    with db.engine.connect() as connection:
        plan = explain(connection, statement, parameters)
        assert capped_count(connection, where) == COUNT_CAP + 1   # the backlog has 50,000
    limits = [n for n in plan_nodes(plan) if n["Node Type"] == "Limit"]
    assert limits and all(n["Plan Rows"] <= COUNT_CAP + 1 for n in limits), json.dumps(plan)[:3000]


def statements_of(run) -> list[tuple[str, dict]]:
    """Every statement ``run(session)`` sends, with its parameters."""
    caught: list[tuple[str, dict]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        caught.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        run(db.session)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
        db.session.rollback()
    return caught


def test_the_overview_waiting_counts_and_top_errors_keep_to_indexes(backlog) -> None:
    """Due, blocked and scheduled counts and the Top errors panel read jobs through indexes,
    however many are waiting or failing."""
    sent = statements_of(lambda session: (waiting.waiting(session, T0, 10_000),
                                          errors.top_errors(session)))
    assert len(sent) >= 4
    with db.engine.connect() as connection:
        for statement, parameters in sent:
            nodes = plan_nodes(explain(connection, statement, parameters))
            assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], statement[:300]
            assert any("Index" in n["Node Type"] for n in nodes), statement[:300]


#: An attempt a second for each request of the backlog, of one to three seconds.
SEED_ATTEMPTS = """
INSERT INTO attempts (request_id, number, started_at, finished_at, outcome)
SELECT r.id, 1, r.created_at - (1 + r.id %% 3) * interval '1 second', r.created_at,
       CASE WHEN r.state = 'failed' THEN 'failed' ELSE 'succeeded' END
FROM requests AS r
"""


def test_the_types_page_walks_the_newest_attempts_and_stops(backlog) -> None:
    """The Types page's one scan reads ``ix_attempts_finished_at`` backwards and stops at
    its cap: no sort of the window's 50,000 attempts, whatever the window holds."""
    statement, parameters = sent_statement(
        lambda connection: types.by_type(sa.orm.Session(connection), T0, "24h"),
        "ORDER BY attempts.finished_at")
    with db.engine.connect() as connection:
        connection.exec_driver_sql(SEED_ATTEMPTS)
        connection.exec_driver_sql("ANALYZE attempts")
        plan = explain(connection, statement, parameters)
        connection.rollback()
    shown = json.dumps(plan)[:3000]
    assert plan["Node Type"] == "Limit" and plan["Plan Rows"] <= types.SCANNED + 1, shown
    assert "ix_attempts_finished_at" in json.dumps(plan), shown
    assert not [n for n in plan_nodes(plan) if "Sort" in n["Node Type"]
                or (n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "attempts")], shown


def without_statistics(connection: sa.Connection, tables: tuple[str, ...] = ("jobs",)
                       ) -> None:
    """The tables as right after a bulk load, until the transaction ends: no column
    statistics, no page known all-visible (autovacuum has not come by yet)."""
    for table in tables:
        connection.exec_driver_sql(
            f"DELETE FROM pg_statistic WHERE starelid = '{table}'::regclass")
        connection.exec_driver_sql(
            f"UPDATE pg_class SET relallvisible = 0 WHERE oid = '{table}'::regclass")


def plan_run(statement: str, parameters: dict, statistics: str) -> dict:
    """The statement's plan as run (EXPLAIN ANALYZE), on jobs analyzed or, with
    ``statistics`` "none", as loaded."""
    with db.engine.connect() as connection:
        if statistics == "none":
            without_statistics(connection)
        text = connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
        connection.rollback()
    return (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]


@pytest.mark.parametrize("kind", ["due", "blocked"])
@pytest.mark.parametrize("statistics", ["analyzed", "none"])
def test_due_and_blocked_ask_the_relation_rule_of_the_whole_set_once(
        backlog, kind, statistics) -> None:
    """The page of due or blocked jobs and its count read the unfinished jobs of the
    relations once (ix_jobs_unfinished_relation, or ix_jobs_state_id before any ANALYZE)
    and the jobs whose time has come once, never a probe a job (which walked every blocked
    job before the first due one: 2 s at a million jobs), never the whole table, with
    statistics or without."""
    found = parse_filter({"waiting": [kind]})
    where = conditions(found, T0)
    for run, marker in ((lambda c: c.execute(list_query(found, now=T0)).all(), "ORDER BY"),
                        (lambda c: capped_count(c, where), "count(")):
        statement, parameters = sent_statement(run, marker)
        with db.engine.connect() as connection:
            come, unfinished = connection.execute(sa.text(
                "SELECT count(*) FILTER (WHERE state IN ('pending', 'retrying') "
                "AND next_attempt_at <= :t0), count(*) FILTER (WHERE relation_id IS NOT "
                "NULL AND state IN ('pending', 'running', 'retrying', 'paused', 'failed')) "
                "FROM jobs"), {"t0": T0.replace(tzinfo=None)}).one()
        plan = plan_run(statement, parameters, statistics)
        nodes = plan_nodes(plan)
        shown = json.dumps(plan, indent=1)[:5000]
        assert_indexed(plan, f"waiting={kind}, {statistics}")
        # Once: in each of the parallel workers at most, never again for every job.
        workers = 1 + max((n.get("Workers Launched", 0) for n in nodes), default=0)
        probes = [n for n in nodes if n["Actual Loops"] > workers and (
            n.get("Index Name") in ("ix_jobs_unfinished_relation", "ix_jobs_relation")
            or (n["Node Type"] == "Aggregate" and n is not plan))]
        assert not probes, f"the relation rule asked job by job:\n{shown}"
        # Each job whose time has come, and each unfinished job of a relation, read a
        # few times at most (the firsts of the relations may be looked up by id).
        read = plans.rows_read(plan)
        assert read <= 3 * (come + unfinished) < 3 * BACKLOG, f"{read} rows read\n{shown}"
        assert plan["Node Type"] in ("Limit", "Aggregate"), shown


@pytest.mark.parametrize("kind", ["due", "blocked"])
@pytest.mark.parametrize("statistics", ["analyzed", "none"])
def test_a_page_of_due_or_blocked_jobs_computes_the_firsts_of_the_relations_once(
        backlog, app, kind, statistics) -> None:
    """The page of due or blocked jobs and its count are one statement, in which the first
    unfinished job of each relation (``first_of_relations``) is computed once, a CTE
    both read: computed for each, it was most of the page's time on tables as loaded
    (150-200 ms each at a million jobs, twice a page)."""
    viewer = add_user(db.session, f"viewer-{next(VIEWERS)}", Role.VIEWER)
    client = log_in(app.test_client(), viewer)
    caught: list[tuple[str, dict]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if "min(unfinished.id)" in statement:
            caught.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        response = client.get("/jobs", query_string={"waiting": kind})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
    assert response.status_code == 200
    assert len(caught) == 1, "the firsts of the relations computed by more than one " \
        "statement:\n" + "\n\n".join(statement for statement, _ in caught)
    statement, parameters = caught[0]
    plan = plan_run(statement, parameters, statistics)
    shown = json.dumps(plan, indent=1)[:5000]
    # One read of the unfinished jobs of the relations (in each parallel worker at most).
    reads = [n for n in plan_nodes(plan) if n.get("Alias") == "unfinished"]
    assert len(reads) == 1 and reads[0]["Actual Loops"] <= 3, shown
    assert_indexed(plan, f"waiting={kind}, {statistics}")


#: A statement that reads requests or attempts.
READS_ROWS_OF_JOBS = re.compile(r"\b(FROM|JOIN) (requests|attempts)\b")


def test_the_state_counts_stop_at_the_cap_without_statistics(backlog) -> None:
    """Jobs per state (the overview, /metrics) on tables as loaded reads about cap + 1
    rows a state: never a bitmap of the state's whole range first (40,000 "completed"
    entries here, 900,000 at a million jobs). (With statistics the planner knows which
    states are common.)"""
    sent = statements_of(lambda session: overview.state_counts(session, cap=1_000))
    assert len([s for s, _ in sent if "count(" in s]) == len(JobState), sent
    with db.engine.connect() as connection:
        without_statistics(connection)
        for statement, parameters in sent:  # again, in one transaction, settings included
            if not statement.startswith("SELECT count("):
                connection.exec_driver_sql(statement, parameters)
                continue
            text = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
            plan = (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]
            scans = [n for n in plan_nodes(plan) if n.get("Relation Name") == "jobs"
                     or n.get("Index Name", "").startswith("ix_jobs")]
            shown = json.dumps(plan, indent=1)[:3000]
            # Rows read: a scan's rows and those its filter set aside (a scan in table
            # order that stops early, as for a state most jobs are in, sets a few aside).
            read = [n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in scans]
            assert scans and max(read) <= 3 * 1_001, shown
        connection.rollback()


@pytest.mark.parametrize("url", ["/jobs?waiting=due", "/jobs?waiting=blocked",
                                 "/jobs?state=failed", "/"])
def test_a_pages_reads_of_requests_and_attempts_go_by_key_without_statistics(
        backlog, app, url) -> None:
    """The job list's reads of its jobs' requests and attempts (types, reasons, attempt
    counts, secrets, paused types, blockers) and the overview's, on tables as loaded, with
    no statistics: by index, never the whole table (as ``job_id IN (50 ids)`` was planned
    then: a second at a million jobs)."""
    viewer = add_user(db.session, f"viewer-{next(VIEWERS)}", Role.VIEWER)
    client = log_in(app.test_client(), viewer)
    caught: list[tuple[str, dict]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if READS_ROWS_OF_JOBS.search(statement):
            caught.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
    assert response.status_code == 200
    assert len(caught) >= 3, caught
    scans, whole = [], []
    with db.engine.connect() as connection:
        connection.exec_driver_sql(SEED_ATTEMPTS)
        without_statistics(connection, ("jobs", "requests", "attempts"))
        for statement, parameters in caught:
            text = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
            plan = (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]
            # What ran (a guard's branch that never ran, as with no paused type, is not).
            read = [f"{n['Node Type']} on {n['Relation Name']}" for n in plan_nodes(plan)
                    if n.get("Relation Name") in ("requests", "attempts")
                    and n["Actual Loops"] > 0]
            # By key, one job at a time: a list of ids (``job_id = ANY (...)``) is what
            # PostgreSQL without statistics takes for a quarter of the table, and reads
            # whole once the table is large (this one is too small for that).
            lists = [n for n in plan_nodes(plan) if n["Actual Loops"] > 0
                     and n.get("Index Name") in ("uq_requests_job_id", "uq_attempts_request_id")
                     and "ANY" in n.get("Index Cond", "")]
            if lists or [r for r in read if r.startswith("Seq Scan")]:
                whole.append(f"{statement[:300]}\n{json.dumps(plan, indent=1)[:3000]}")
            scans += read
        connection.rollback()
    assert scans, caught
    assert not whole, "read whole, or by a list of ids:\n" + "\n\n".join(whole)


def test_connections_compile_no_plan_and_keep_the_urls_options(db_url) -> None:
    """No JIT compilation (a page's reads by key, estimated at millions on tables without
    statistics, were compiled for 30-100 ms to run in 1 ms); a URL's own ``options``
    still apply, and win."""
    url = sa.make_url(db_url).update_query_dict(
        {"options": "-c statement_timeout=4321 -c work_mem=5MB"})
    engine = sa.create_engine(url)
    prepare_engine(engine)
    try:
        with engine.connect() as connection:
            shown = [connection.exec_driver_sql(f"SHOW {name}").scalar()
                     for name in ("jit", "statement_timeout", "work_mem")]
    finally:
        engine.dispose()
    assert shown == ["off", "4321ms", "5MB"]
