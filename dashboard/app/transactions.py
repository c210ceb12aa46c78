"""Every HTTP request that may write takes SQLite's write lock as its transactions begin.

A transaction that reads and then writes can't wait its turn on SQLite: when the digest
holds the write lock (or wrote since the read began), the first write fails at once with
"database is locked", whatever the busy timeout. Login and its failure count, every
action, users, tokens and API enqueue read first. So every transaction of a request that
is not a GET, HEAD or OPTIONS begins IMMEDIATE and waits for the lock instead, however
its code is arranged. Readers are never blocked (WAL), and other databases ignore this.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from flask import Flask, g, request, request_started

from ..queue.database.write_lock import writing

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    # request_started comes before every before_request function, some of which may
    # already read (a session check, the API's token).
    request_started.connect(_on_request_started, app)
    app.teardown_request(_on_teardown)


def _on_request_started(sender: Flask, **extra: Any) -> None:
    if request.method not in READS:
        g.writing = ExitStack()
        g.writing.enter_context(writing())


def _on_teardown(error: BaseException | None) -> None:
    # gthread workers reuse their threads: the next request starts from "reads".
    held = g.pop("writing", None)
    if held is not None:
        held.close()
