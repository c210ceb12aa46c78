"""A digest's transaction that the server ends to break a deadlock is done again, not
fatal: each database rolls such a transaction back whole (PostgreSQL 40P01, MariaDB
1213). The deadlock here is a real one, with the digest's transaction made the victim."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from dashboard.queue.digest.connections import Connections
from tests.support.processes import wait_until

probe = sa.Table("deadlock_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("n", sa.Integer, nullable=False))
#: MariaDB ends the transaction that changed the fewest rows: the other one changes these.
HEAVY = 50


def waiting_for_a_lock(engine: sa.Engine) -> bool:
    """A transaction on this test's database waits for a lock (the server's other
    databases, other test workers' among them, are left out)."""
    with engine.connect() as monitor:
        if engine.dialect.name == "postgresql":
            return bool(monitor.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'")))
        return bool(monitor.scalar(sa.text(
            "SELECT count(*) FROM information_schema.INNODB_TRX t "
            "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            "WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()")))


@pytest.fixture
def engine(db_url: str):
    engine = sa.create_engine(db_url, pool_size=4)
    probe.drop(engine, checkfirst=True)
    probe.create(engine)
    with engine.begin() as conn:
        conn.execute(probe.insert(), [{"id": i, "n": 0} for i in range(1, 3 + HEAVY)])
    yield engine
    probe.drop(engine, checkfirst=True)
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql", "mariadb"], indirect=True)
def test_a_transaction_ended_to_break_a_deadlock_is_done_again(engine):
    postgresql = engine.dialect.name == "postgresql"
    go = threading.Event()
    tries = []

    def other() -> None:
        """Takes row 2 (and, on MariaDB, many more), then waits for row 1."""
        with engine.connect() as conn, conn.begin():
            if postgresql:  # the digest's side checks for the deadlock long before this one
                conn.execute(sa.text("SET LOCAL deadlock_timeout = '10s'"))
            conn.execute(probe.update().where(probe.c.id >= 3).values(n=probe.c.n + 1))
            conn.execute(probe.update().where(probe.c.id == 2).values(n=probe.c.n + 1))
            go.set()
            conn.execute(probe.update().where(probe.c.id == 1).values(n=probe.c.n + 1))

    def work(conn: sa.Connection) -> int:
        tries.append(len(tries) + 1)
        with conn.begin():
            if postgresql:
                conn.execute(sa.text("SET LOCAL deadlock_timeout = '20ms'"))
            conn.execute(probe.update().where(probe.c.id == 1).values(n=probe.c.n + 10))
            if len(tries) == 1:
                thread.start()
                assert go.wait(10)
                wait_until(lambda: waiting_for_a_lock(engine), timeout=10,
                           what="the other transaction to wait for row 1")
            conn.execute(probe.update().where(probe.c.id == 2).values(n=probe.c.n + 10))
        return len(tries)

    thread = threading.Thread(target=other)
    connections = Connections(engine, 2, wait_seconds=5)
    try:
        assert connections.run(work) == 2
    finally:
        connections.close()
    thread.join(10)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(probe.c.id, probe.c.n).where(probe.c.id <= 2)).all())
    # Both transactions went through, each once: the ended one's first try left nothing.
    assert rows == {1: 11, 2: 11}
