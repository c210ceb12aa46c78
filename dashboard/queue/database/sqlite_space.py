"""SQLite's write-ahead log kept in bounds, so that the database recovers once a full disk
has room again.

In WAL mode every commit appends to the ``-wal`` file, and a checkpoint copies it into the
database; the file is then reused from its start, but never shrinks by itself. When the
disk fills, checkpoints fail (the database can't grow), every later write appends to the
log, and the log keeps the space that was freed. So:

- ``journal_size_limit``: after each checkpoint the log is cut back to this size;
- a checkpoint with TRUNCATE (the log emptied to 0 bytes) once a write failed with
  "database or disk is full" (before the next transaction, or when the connection goes
  back to the pool), and when a process first connects
  while the log is over the limit (a digest's start): the freed space goes to the
  checkpoint, before any new write appends to the log.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

log = logging.getLogger("dashboard.database")

#: Bytes the write-ahead log is cut back to after a checkpoint, and over which a process
#: empties it when it first connects.
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024
DISK_FULL = "database or disk is full"


class Space:
    """The checkpoints one SQLite engine owes: registered on it by :func:`prepare`."""

    def __init__(self, engine: sa.Engine) -> None:
        self.path = engine.url.database or ""
        self._owed = threading.Event()

    def on_connect(self, dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            if self.wal_size() > JOURNAL_SIZE_LIMIT:
                self._checkpoint(cursor, "it was over the limit at start")
        finally:
            cursor.close()

    def before_begin(self, connection: sa.Connection) -> None:
        self.pay(connection.connection.dbapi_connection)

    def pay(self, dbapi_connection: Any) -> None:
        """The checkpoint owed since a write found the disk full, on a connection with no
        transaction open (before a BEGIN, or given back to the pool)."""
        if dbapi_connection is None or not self._owed.is_set():
            return
        self._owed.clear()
        cursor = dbapi_connection.cursor()
        try:
            self._checkpoint(cursor, "a write found the disk full")
        finally:
            cursor.close()

    def on_error(self, context: Any) -> None:
        if DISK_FULL in str(context.original_exception):
            self._owed.set()

    def wal_size(self) -> int:
        try:
            return os.path.getsize(f"{self.path}-wal")
        except OSError:
            return 0

    def _checkpoint(self, cursor: Any, why: str) -> None:
        """Copy the log into the database and empty it; never raises (the next write
        says what is wrong, in its own words)."""
        before = self.wal_size()
        try:
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except Exception as error:
            log.warning("SQLite: could not empty the write-ahead log (%s): %s", why, error)
            self._owed.set()  # try again at the next transaction
            return
        if busy:
            self._owed.set()
        log.warning("SQLite: write-ahead log checkpointed and emptied (%s): %d bytes, "
                    "now %d", why, before, self.wal_size())


def prepare(engine: sa.Engine) -> None:
    """Register the checkpoints on a SQLite engine with a database file (see above)."""
    if engine.url.database in (None, "", ":memory:"):
        return
    space = Space(engine)
    event.listen(engine, "connect", lambda dbapi, record: space.on_connect(dbapi))
    # Before the engine's own "begin" listener sends BEGIN: a checkpoint needs no
    # transaction of this connection open.
    event.listen(engine, "begin", space.before_begin, insert=True)
    event.listen(engine, "handle_error", space.on_error)
    # And once the failed transaction is rolled back: the run may have no other to begin.
    event.listen(engine, "checkin", lambda dbapi, record: space.pay(dbapi))
