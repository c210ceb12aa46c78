"""The statements sent to the database, caught on their way to the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from dashboard.app.extensions import db


@contextmanager
def sent_statements() -> Iterator[Callable[[], list[str]]]:
    """Within: a function that gives the statements sent so far through the app's engine,
    on any connection."""
    sent: list[str] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        yield lambda: list(sent)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
