"""A rate limit per API token (``API_RATE_LIMIT``), by Flask-Limiter, answered with 429
and ``Retry-After``.

The count must be shared by every worker of a host, or each gunicorn process would allow
the limit again. Flask-Limiter keeps it in a ``limits`` storage (``API_RATE_LIMIT_STORAGE``):
``redis://...`` shares it between hosts too; by default it is a small SQLite file of its
own in the instance folder, which every worker of the host opens. A file apart from the
queue's database: counting API calls must not queue behind the digest for SQLite's write
lock, nor load PostgreSQL or MariaDB with a write per call.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

from flask import Flask, Response, current_app, g
from flask_limiter import Limiter
from limits.storage import Storage

from ..app.config import RATE_LIMIT_OFF

SCHEME = "sqlitefile"

limiter = Limiter(key_func=lambda: "unused: every limit has its own key")


def init_app(app: Flask) -> None:
    app.config.update(
        RATELIMIT_STORAGE_URI=app.config["API_RATE_LIMIT_STORAGE"],
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=True,
        # A storage that fails (Redis down) does not fail the API: each worker counts on
        # its own until it is back.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_KEY_PREFIX="asyncqueue",
    )
    # Registered first, so it runs after Flask-Limiter's headers are added (Flask runs
    # after_request functions last registered first).
    app.after_request(_retry_after_on_refusals_only)
    limiter.init_app(app)


def _retry_after_on_refusals_only(response: Response) -> Response:
    """Flask-Limiter puts ``Retry-After`` (the window's end) on every answer; on a
    success it would tell a client to wait for nothing."""
    if response.status_code < 400:
        response.headers.pop("Retry-After", None)
    return response


def _token_key() -> str:
    return f"token:{g.api_token.id}"


def _limit() -> str:
    value = current_app.config["API_RATE_LIMIT"]
    return "1/second" if value == RATE_LIMIT_OFF else value  # off: filtered out (_off)


@limiter.request_filter
def _off() -> bool:
    """Off: no limit is looked up or counted (the filter comes before Flask-Limiter's
    work for a request, ``exempt_when`` after most of it)."""
    return current_app.config["API_RATE_LIMIT"] == RATE_LIMIT_OFF


#: The views that take a token: one count per token, whatever the endpoint.
per_token = limiter.shared_limit(
    _limit, scope="api-token", key_func=_token_key,
    error_message="too many requests with this token (API_RATE_LIMIT); wait and retry",
)


class SQLiteFileStorage(Storage):
    """Fixed-window counters in a SQLite file (``sqlitefile:///path``), for the workers of
    one host. Each counter is one row, bumped in one atomic statement."""

    # A list, as limits' Storage declares it (limits finds the class by it).
    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._local = threading.local()  # a connection per thread (gthread workers)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            fresh = not os.path.exists(self.path)
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            if fresh:
                os.chmod(self.path, 0o600)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, "
                               "count INTEGER NOT NULL, expires REAL NOT NULL)")
            self._local.connection = connection
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._db()
        # A window that has ended starts again at this hit.
        (count,) = db.execute(
            "INSERT INTO counters (key, count, expires) VALUES (:key, :amount, :now + :expiry) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= :now THEN :amount ELSE count + :amount END, "
            "expires = CASE WHEN expires <= :now THEN :now + :expiry ELSE expires END "
            "RETURNING count",
            {"key": key, "amount": amount, "now": now, "expiry": expiry}).fetchone()
        if count == amount:  # a new window: a moment to forget the windows that ended
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return count

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._db().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))
