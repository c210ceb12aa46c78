"""A real digest working through a backlog on the test's database, so that tests of write
paths show they wait their turn on a busy SQLite instead of failing."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.support.concurrency import forget_statistics, recorded_job, save
from tests.support.concurrency_types import executions, metadata
from tests.support.processes import Digests, wait_until

#: Enough one-request jobs to keep a digest committing for the length of a test.
BACKLOG = 3000


@contextmanager
def digest_running(session, url: str, log_dir: Path) -> Iterator[None]:
    """A ``flask digest --loop`` committing a write every few milliseconds meanwhile."""
    engine = session.get_bind()
    with engine.begin() as connection:
        metadata.drop_all(connection)
        metadata.create_all(connection)
    save(session, [recorded_job({}) for _ in range(BACKLOG)])
    digests = Digests(url, log_dir)
    digest = digests.start("--loop", "--interval", "0.05")
    try:
        wait_until(lambda: _executed(session) > 0, what="the digest's first request")
        yield
        assert digest.popen.poll() is None, digest.output  # it was still at work
        assert _executed(session) < BACKLOG, "the digest ran out of work during the test"
    finally:
        digest.send(signal.SIGTERM)
        digest.wait()
        digests.close()
        session.rollback()
        with engine.begin() as connection:  # the schema test expects the queue's tables only
            metadata.drop_all(connection)
            forget_statistics(connection)


def _executed(session) -> int:
    session.rollback()
    count = session.scalar(sa.select(sa.func.count()).select_from(executions))
    session.rollback()
    return count
