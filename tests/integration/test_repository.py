import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobBuilder, JobRepository, Request
from tests.support.factories import make_job, save_job
from tests.support.processes import wait_until

PAYLOADS = [
    {"name": "Zoë Ångström", "emoji": "🎉👩‍💻", "quote": "\"<script>alert(1)</script>\""},
    {"big": 2**62, "neg": -(2**53) - 1, "float": 0.1, "exp": 1e-300, "nested": [[], {}, [None]]},
    ["a list", True, False, None],
    "just a string",
    {"text": "x" * 100_000},  # beyond MariaDB's 64 KiB TEXT
]


@pytest.mark.parametrize("alone", [True, False], ids=["save", "save_many"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_stored_losslessly(session, clock, payload, alone):
    # save() of one job and save_many() go through different statements on PostgreSQL.
    job = make_job(("test_echo", payload), relation_id="Zoë 🎉 \"'")
    jobs = [job] if alone else [job, make_job(("test_echo", {}))]
    JobRepository(session, clock).save_many(jobs)
    session.expire_all()
    stored = JobRepository(session).get(job.id)
    import json
    assert json.loads(stored.requests[0].payload) == payload
    assert stored.relation_id == "Zoë 🎉 \"'"


def test_save_assigns_ids_and_times(session, clock):
    job = save_job(session, clock, ("test_echo", {}), relation_id="r", store_id=3)
    assert job.id is not None
    assert job.created_at == job.next_attempt_at == clock.now
    assert job.source_id == "default"
    assert all(r.id is not None for r in job.requests)


def test_a_job_needs_requests(session, clock):
    with pytest.raises(ValueError, match="at least one request"):
        JobRepository(session, clock).save(JobBuilder().create())
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_save_is_all_or_nothing(session, clock):
    good = make_job(("test_echo", {"n": 1}))
    bad = make_job(("test_echo", {"n": 2}), ("test_echo", {"n": 3}))
    bad.requests[1].position = 0  # two requests at one position: the database refuses
    with pytest.raises(sa.exc.IntegrityError):
        JobRepository(session, clock).save_many([good, bad])
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 0


def test_a_saved_job_cannot_be_saved_again(session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    with pytest.raises(ValueError, match="already saved"):
        JobRepository(session, clock).save(job)
    with pytest.raises(ValueError, match="already saved"):
        job.request_builder().set_type_code("test_echo").set_payload({"more": 1}).create()


def stored_requests(session) -> list[tuple]:
    return [tuple(row) for row in session.execute(
        sa.select(Request.job_id, Request.id, Request.position, Request.type_code,
                  Request.payload).order_by(Request.id))]


def test_save_many_of_no_jobs_stores_nothing(session, clock):
    assert JobRepository(session, clock).save_many([]) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_job_of_many_requests_is_saved_in_order(session, clock):
    # Past ONE_JOB_MAX_REQUESTS a job saved alone goes the way of save_many on PostgreSQL.
    job = save_job(session, clock, *(("test_echo", {"step": n}) for n in range(25)))
    session.rollback()
    assert [row[1:3] for row in stored_requests(session)] == [
        (r.id, n) for n, r in enumerate(job.requests)]


@pytest.mark.parametrize("count", [2, 257])
def test_save_many_assigns_every_id_in_order(session, clock, count):
    # Jobs of one to three requests, so that requests and jobs don't line up.
    jobs = [make_job(*(("test_echo", {"job": n, "step": step}) for step in range(n % 3 + 1)),
                     relation_id=f"r{n}")
            for n in range(count)]
    saved = JobRepository(session, clock).save_many(jobs)
    assert saved == jobs
    job_ids = [job.id for job in jobs]
    assert job_ids == sorted(job_ids) and len(set(job_ids)) == count
    expected = [(job.id, r.id, r.position, "test_echo", f'{{"job": {n}, "step": {r.position}}}')
                for n, job in enumerate(jobs) for r in job.requests]
    assert [row[1] for row in expected] == sorted(row[1] for row in expected)
    session.rollback()
    assert stored_requests(session) == expected
    stored_jobs = session.execute(sa.select(Job.id, Job.relation_id).order_by(Job.id)).all()
    assert [tuple(row) for row in stored_jobs] == [(job.id, f"r{n}") for n, job in enumerate(jobs)]


def test_a_failing_single_save_leaves_nothing_and_the_job_can_be_saved_once_fixed(
        session, clock):
    job = make_job(("test_echo", {"n": 1}), ("test_echo", {"n": 2}))
    job.requests[1].position = 0
    with pytest.raises(sa.exc.IntegrityError):
        JobRepository(session, clock).save(job)
    assert job.id is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 0
    job.requests[1].position = 1
    JobRepository(session, clock).save(job)
    session.rollback()
    assert [row[2] for row in stored_requests(session)] == [0, 1]


def test_after_a_save_the_job_reads_as_stored_with_no_query(app, session, clock):
    from dashboard.app.extensions import db

    job = JobRepository(session, clock).save(make_job(("test_echo", {}), ("test_echo", {"n": 2})))
    statements = []

    def count(*args) -> None:
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert job.id is not None
        assert [r.id for r in job.requests] == sorted(r.id for r in job.requests)
        assert all(r.job is job for r in job.requests)
        assert (job.state, job.created_at, job.next_attempt_at, job.finished_at,
                job.locked_by, job.store_id, job.priority) == (
            "pending", clock.now, clock.now, None, None, None, 0)
        assert [(r.position, r.job_id, r.state, r.attempts, r.result, r.history)
                for r in job.requests] == [(0, job.id, "pending", 0, None, []),
                                           (1, job.id, "pending", 0, None, [])]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []
    # A copy of what was stored: it belongs to no session; get() reads the job again.
    assert sa.inspect(job).detached and all(sa.inspect(r).detached for r in job.requests)
    with db.engine.begin() as other:
        other.execute(sa.update(Job).where(Job.id == job.id).values(store_id=7))
    assert job.store_id is None
    assert JobRepository(session).get(job.id).store_id == 7
    session.rollback()
    # It joins another session as the stored job, not as a new one to insert.
    with sa.orm.Session(db.engine) as other_session:
        other_session.add(job)
        assert not other_session.new and job in other_session
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            other_session.flush()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert statements == []
        assert other_session.get(Job, job.id) is job


def test_a_pooled_connection_the_server_closed_is_replaced_before_a_save(app, session, clock):
    # PostgreSQL checks pooled connections without pool_pre_ping's round trip (engine_setup.py).
    from dashboard.app.extensions import db

    kind = db.engine.dialect.name
    if kind == "sqlite":
        pytest.skip("no server to close connections")
    save_job(session, clock, ("test_echo", {"n": 1}))  # its connection is back in the pool
    if kind == "postgresql":
        others = ("SELECT pid FROM pg_stat_activity "
                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        kill = "SELECT pg_terminate_backend({})"
    else:
        others = ("SELECT id FROM information_schema.processlist "
                  "WHERE db = DATABASE() AND id <> CONNECTION_ID()")
        kill = "KILL CONNECTION {}"
    # Autocommit: PostgreSQL keeps one snapshot of pg_stat_activity per transaction.
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool,
                             isolation_level="AUTOCOMMIT")
    try:
        with other.connect() as connection:
            pooled = connection.scalars(sa.text(others)).all()
            assert pooled
            for server_id in pooled:
                connection.exec_driver_sql(kill.format(int(server_id)))
            wait_until(lambda: not connection.scalars(sa.text(others)).all(),
                       timeout=10, what="the pool's connections to end")
    finally:
        other.dispose()
    job = save_job(session, clock, ("test_echo", {"n": 2}))
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 2
    assert job.id is not None


@pytest.mark.parametrize("alone", [True, False], ids=["save", "save_many"])
def test_the_search_copy_is_stored_masked_and_otherwise_is_the_payload(session, clock, alone):
    # On PostgreSQL save_many sends a search copy only where it differs from the payload.
    secret = make_job(("test_echo", {"password": "pw-9876", "note": "was pw-9876"}))
    plain = make_job(("test_echo", {"n": 1, "note": "no password here"}))
    jobs = [secret] if alone else [secret, plain]
    JobRepository(session, clock).save_many(jobs)
    stored = dict(session.execute(sa.select(Request.job_id, Request.payload_search)).all())
    session.rollback()
    assert "pw-9876" not in stored[secret.id] and "password" in stored[secret.id]
    if not alone:
        assert stored[plain.id] == plain.requests[0].payload


def test_a_connection_lost_during_a_save_fails_it_and_the_next_save_gets_a_new_one(
        app, session, clock, monkeypatch):
    # On PostgreSQL the save runs on the driver (driver_path.DriverStatement): the lost
    # connection still comes out as SQLAlchemy's error, and leaves the pool.
    from dashboard.app.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's driver path")
    import psycopg

    execute = psycopg.Cursor.execute
    killed: list[int] = []

    def lose_connection(cursor, query, *args, **kwargs):
        if not killed and "INSERT INTO jobs" in str(query):
            killed.append(cursor.connection.info.backend_pid)
            with psycopg.connect(db.engine.url.render_as_string(hide_password=False)
                                 .replace("+psycopg", ""), autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", killed)
            wait_until(lambda: _gone(killed[0]), timeout=10, what="the backend to end")
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", lose_connection)
    with pytest.raises(sa.exc.OperationalError) as failed:
        save_job(session, clock, ("test_echo", {"n": 1}))
    assert failed.value.connection_invalidated
    job = save_job(session, clock, ("test_echo", {"n": 2}))
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
    assert job.id is not None


def _gone(pid: int) -> bool:
    from dashboard.app.extensions import db

    with db.engine.connect() as connection:
        return not connection.scalar(sa.text("SELECT count(*) FROM pg_stat_activity "
                                             "WHERE pid = :pid"), {"pid": pid})
