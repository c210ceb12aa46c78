"""SQLite on a small file system that fills up: the digest fails in one line, and once space
is freed the next digest runs, with the write-ahead log emptied rather than keeping the
space (a tmpfs mounted by the test; root only)."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.queue import Job, JobRepository, JobState
from tests.support.factories import make_job
from tests.support.processes import Digests
from tests.support.schema import reset_schema

pytestmark = pytest.mark.slow

JOBS = 60


@pytest.fixture
def small_disk(tmp_path, request) -> Iterator[Path]:
    """A tmpfs of ``request.param`` MB, gone after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={request.param}m", "tmpfs",
                           str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"can't mount a small file system here (root is needed): "
                    f"{done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> sqlite3.Connection:
    """Write until the disk is full, while a reader holds an old snapshot (as a page being
    read does), so that no checkpoint can bring the log back to its start. Returns the
    writer's connection, still open, as a dashboard process keeps one (the last
    connection to close would checkpoint and delete the log)."""
    reader = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM jobs").fetchone()
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            for _ in range(100_000):
                writer.execute("UPDATE jobs SET priority = priority + 1")
    finally:
        reader.close()
    return writer


@pytest.mark.parametrize(("small_disk", "why"), [
    # The log fills more than JOURNAL_SIZE_LIMIT: the digest empties it at its start.
    (24, "it was over the limit at start"),
    # Less: the digest's first write finds the disk full, the next transaction empties it.
    (12, "a write found the disk full"),
], indirect=["small_disk"])
def test_after_a_full_disk_the_next_digest_runs(small_disk, why, tmp_path):
    url = f"sqlite:///{small_disk / 'queue.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k" * 40})
    reset_schema(app)
    with app.app_context():
        JobRepository(db.session).save_many(
            [make_job(("test_echo", {"n": n, "text": "x" * 20_000})) for n in range(JOBS)])
        db.session.remove()
        db.engine.dispose()
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 3_000_000)
    database = small_disk / "queue.db"
    held = fill(database)
    wal = Path(f"{database}-wal")
    full_wal = wal.stat().st_size

    digests = Digests(url, tmp_path, QUEUE_TYPES="tests.support.types")
    try:
        failed = digests.run("--max-jobs", "5")
        if failed.popen.returncode != 0:  # cleanly: one line, no traceback
            assert failed.popen.returncode == 1
            assert "Traceback" not in failed.stderr
            assert failed.last_error_line.endswith("database or disk is full"), failed.output
        filler.unlink()
        after = digests.run()
        assert after.popen.returncode == 0, after.output
        # The log gave its space back: emptied, then only these runs' writes (before, it
        # kept all of it, and grew).
        assert wal.stat().st_size < full_wal, (full_wal, wal.stat().st_size)
        assert f"write-ahead log checkpointed and emptied ({why})" in failed.stderr
    finally:
        digests.close()
        held.close()
    with app.app_context():
        states = db.session.scalars(sa.select(Job.state)).all()
        db.session.remove()
        db.engine.dispose()
    assert states == [JobState.COMPLETED] * JOBS
