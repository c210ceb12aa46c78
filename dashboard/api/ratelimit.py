"""A rate limit per API token (``API_RATE_LIMIT``), by Flask-Limiter, answered with 429
and ``Retry-After``.

The count must be shared by every worker of a host, or each gunicorn process would allow
the limit again. Flask-Limiter keeps it in a ``limits`` storage (``API_RATE_LIMIT_STORAGE``):
``redis://...`` shares it between hosts too; by default it is a small SQLite file of its
own in the instance folder, which every worker of the host opens. A file apart from the
queue's database: counting API calls must not queue behind the digest for SQLite's write
lock, nor load PostgreSQL or MariaDB with a write per call.

The limit never fails open. A storage that fails (Redis down, the file locked past its
busy timeout) makes each worker count on its own, in memory, until it is back; an error
that escapes even that is a 503 with ``Retry-After``, never a call let through uncounted.
Failed token checks are counted too, per client address (``TOKEN_FAILURES``): past them
the address gets 429 without its token being checked.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import Storage

from ..app.config import RATE_LIMIT_OFF
from ..app.http_errors import problem
from ..queue.database.engine_setup import use_write_ahead_log

SCHEME = "sqlitefile"
#: Failed token checks allowed from one client address in a minute.
TOKEN_FAILURES = RateLimitItemPerMinute(20)
#: Seconds a client waits when the count can't be kept.
STORAGE_DOWN_RETRY = 5

log = logging.getLogger("dashboard.api")
limiter = Limiter(key_func=lambda: "unused: every limit has its own key")


def init_app(app: Flask) -> None:
    app.config.update(
        RATELIMIT_STORAGE_URI=app.config["API_RATE_LIMIT_STORAGE"],
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=True,
        # A storage that fails (Redis down) does not fail the API: each worker counts on
        # its own until it is back. An error never lets a call through uncounted: it
        # reaches storage_down() as a StorageError.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=False,
        RATELIMIT_STORAGE_OPTIONS={"wrap_exceptions": True},
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
def storage_down(error: StorageError) -> Response:
    """The count could not be kept: refuse the call (503) rather than let it through."""
    log.warning("api: the rate limit's storage failed; the call is refused", exc_info=error)
    return problem(503, "the rate limit's count is unavailable; try again shortly",
                   headers={"Retry-After": str(STORAGE_DOWN_RETRY)})


def _address() -> str:
    # The client's, or behind a proxy of DASHBOARD_PROXIES the one it forwarded.
    return request.remote_addr or "unknown"


def token_failures_wait() -> int | None:
    """Seconds until the client's address may have a token checked again, once it failed
    TOKEN_FAILURES checks in the window; None while it may."""
    strategy = limiter.limiter
    if strategy.test(TOKEN_FAILURES, "token-failures", _address()):
        return None
    reset_at = strategy.get_window_stats(TOKEN_FAILURES, "token-failures", _address())[0]
    return max(1, int(reset_at - time.time()) + 1)


def count_token_failure() -> None:
    limiter.limiter.hit(TOKEN_FAILURES, "token-failures", _address())


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

    #: Seconds a statement waits for another worker's write: short, as a count is quick.
    BUSY_TIMEOUT = 2.0

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._local = threading.local()  # a connection per thread (gthread workers)
        # One write at a time per process: the threads of a worker queue here, not for
        # SQLite's lock, which then only the workers of the host share.
        self._write = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            fresh = not os.path.exists(self.path)
            connection = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT,
                                         isolation_level=None)
            if fresh:
                os.chmod(self.path, 0o600)
            use_write_ahead_log(connection, self.BUSY_TIMEOUT)
            connection.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, "
                               "count INTEGER NOT NULL, expires REAL NOT NULL)")
            self._local.connection = connection
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._write:
            return self._incr(key, expiry, amount)

    def _incr(self, key: str, expiry: int, amount: int) -> int:
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
        """Whether a count can be written (a read would succeed on a locked file)."""
        try:
            with self._write:
                self._db().execute("BEGIN IMMEDIATE")
                self._db().execute("ROLLBACK")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))
