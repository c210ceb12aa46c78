"""SQLite's write lock: transactions that will write take it up front (BEGIN IMMEDIATE).

Other databases lock rows instead, and ignore all of this. engine_setup.py makes SQLite's
connections begin as these functions ask.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

#: The execution option of a connection whose transactions begin IMMEDIATE.
IMMEDIATE = "sqlite_begin_immediate"
#: Whether every transaction begun in this context (thread) will write: see writing().
_WRITING: ContextVar[bool] = ContextVar("asyncqueue_writing", default=False)


def begins_immediate(connection: sa.Connection) -> bool:
    """Whether the transaction ``connection`` begins now takes the write lock up front."""
    return bool(connection.get_execution_options().get(IMMEDIATE) or _WRITING.get())


def begin_for_write(session: Session) -> None:
    """Start the session's transaction as one that will read, then write.

    On SQLite this takes the write lock up front (``BEGIN IMMEDIATE``): a plain
    transaction that reads first would fail with "database is locked" on its first write
    instead of waiting its turn. Other databases lock rows instead, and ignore this. (The
    digest sets the same option on its own connection, see digest/job_digest.py.)
    """
    session.connection(execution_options={IMMEDIATE: True})


@contextmanager
def writing(session: Session | None = None) -> Iterator[None]:
    """Within: every transaction begun in this context (thread) takes SQLite's write lock
    up front (``BEGIN IMMEDIATE``), however many it commits and whichever code reads first.
    Other databases lock rows instead, and ignore this.

    For a caller whose transactions may write (an HTTP request that is not a GET, a CLI
    command that changes something), and, given a ``session``, for one write of its own:
    whatever the session was reading ends first (on SQLite a transaction that read before
    another writer, a digest, committed can't write at all, while one that starts as a
    write waits its turn), and the block's changes are committed at its end, or rolled
    back if it raises.
    """
    token = _WRITING.set(True)
    try:
        if session is None:
            yield
            return
        session.rollback()
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        _WRITING.reset(token)
