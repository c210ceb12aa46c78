"""A request type that writes down every execution, for the tests that run real digests.

Digest subprocesses load it with ``QUEUE_TYPES=tests.support.concurrency_types``. Each execution
inserts a row into ``executions`` when it starts and fills in ``finished`` when it ends,
through a connection of its own (to ``EXECUTIONS_URL``, else the digest's
``DATABASE_URL``), so a digest killed mid-request leaves a row with no ``finished``.

Payload keys, all optional: ``sleep`` (seconds), ``until`` (a file to wait for, at most
``SLEEP_LIMIT`` seconds), ``only_attempt`` (hold only on that attempt number).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dashboard.queue import RequestContext, RequestType

TYPE_CODE = "recorded"
SLEEP_LIMIT = 60.0

metadata = sa.MetaData()
executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("request_id", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("relation", sa.String(255)),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    #: Seconds since the epoch, from the digest host's clock.
    sa.Column("started", sa.Double, nullable=False),
    sa.Column("finished", sa.Double),
    # A record need not survive a server crash: MyISAM spares the test a disk flush.
    mysql_engine="MyISAM",
)

_engine: sa.Engine | None = None


def engine() -> sa.Engine:
    """This process's own engine on the digest's database."""
    global _engine
    if _engine is None:
        url = sa.make_url(os.environ.get("EXECUTIONS_URL") or os.environ["DATABASE_URL"])
        backend = url.get_backend_name()
        if backend == "sqlite":
            _engine = sa.create_engine(url, connect_args={"timeout": 30})
        elif backend == "postgresql":
            # Likewise on PostgreSQL.
            _engine = sa.create_engine(url, pool_pre_ping=True, connect_args={
                "options": "-c synchronous_commit=off"})
        else:
            _engine = sa.create_engine(url, pool_pre_ping=True)
    return _engine


class Recorded(RequestType):
    type_code = TYPE_CODE

    def execute(self, payload: Any, context: RequestContext) -> Any:
        started = time.time()  # before this record's own round trips
        job, request = context.job, context.request
        with engine().begin() as connection:
            row_id = connection.execute(executions.insert().values(
                job_id=job.id, request_id=request.id, position=request.position,
                relation=job.relation_id, attempt=request.attempt, pid=os.getpid(),
                started=started,
            )).inserted_primary_key[0]
        if payload.get("only_attempt") in (None, request.attempt):
            hold(payload)
        with engine().begin() as connection:
            connection.execute(executions.update().where(executions.c.id == row_id)
                               .values(finished=time.time()))
        return {"position": request.position, "pid": os.getpid()}


def hold(payload: dict[str, Any]) -> None:
    """Sleep for ``sleep`` seconds, or until the file ``until`` exists."""
    if "sleep" in payload:
        time.sleep(payload["sleep"])
    if "until" in payload:
        deadline = time.monotonic() + SLEEP_LIMIT
        while not Path(payload["until"]).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{payload['until']} never appeared")
            time.sleep(0.05)
