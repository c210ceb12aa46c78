import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobBuilder, JobRepository, Request
from tests.factories import make_job, save_job
from tests.processes import wait_until

PAYLOADS = [
    {"name": "Zoë Ångström", "emoji": "🎉👩‍💻", "quote": "\"<script>alert(1)</script>\""},
    {"big": 2**62, "neg": -(2**53) - 1, "float": 0.1, "exp": 1e-300, "nested": [[], {}, [None]]},
    ["a list", True, False, None],
    "just a string",
    {"text": "x" * 100_000},  # beyond MariaDB's 64 KiB TEXT
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_stored_losslessly(session, clock, payload):
    job = save_job(session, clock, ("test_echo", payload))
    session.expire_all()
    stored = JobRepository(session).get(job.id).requests[0]
    import json
    assert json.loads(stored.payload) == payload


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


def test_a_pooled_connection_the_server_closed_is_replaced_before_a_save(app, session, clock):
    # PostgreSQL checks pooled connections without pool_pre_ping's round trip (database.py).
    from dashboard.extensions import db

    kind = db.engine.dialect.name
    if kind == "sqlite":
        pytest.skip("no server to close connections")
    save_job(session, clock, ("test_echo", {"n": 1}))  # its connection is back in the pool
    with db.engine.connect() as pooled:
        server_id = pooled.scalar(sa.text(
            "SELECT pg_backend_pid()" if kind == "postgresql" else "SELECT CONNECTION_ID()"))
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    try:
        with other.connect() as connection:
            if kind == "postgresql":
                connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": server_id})
                gone = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :id"
            else:
                connection.execute(sa.text(f"KILL CONNECTION {int(server_id)}"))
                gone = "SELECT count(*) = 0 FROM information_schema.processlist WHERE id = :id"
            wait_until(lambda: connection.scalar(sa.text(gone), {"id": server_id}),
                       timeout=10, what="the connection to end")
    finally:
        other.dispose()
    job = save_job(session, clock, ("test_echo", {"n": 2}))
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 2
    assert job.id is not None
