"""Jobs made for one browser test on the running server's SQLite database, in this
process: each test acts on jobs of a source of its own, so the tests sharing the
server don't see one another's."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dashboard import audit, create_app
from dashboard.app.extensions import db
from dashboard.queue import Job, JobDigest, JobRepository, JobState
from tests.support.factories import make_job


def _app(server):
    return create_app({"SQLALCHEMY_DATABASE_URI": server.env["DATABASE_URL"],
                       "SECRET_KEY": "browser-tests-" + "k" * 32})


def add_jobs(server, source: str, count: int, type_code: str = "test_echo",
             state: JobState | None = None, unique_key: str | None = None,
             **fields: Any) -> list[int]:
    """``count`` new jobs of one request each; ``state``: set as if they had got there."""
    with _app(server).app_context():
        jobs = [make_job((type_code, {"n": n}), source_id=source, **fields)
                for n in range(count)]
        ids = [job.id for job in JobRepository(db.session).save_many(jobs)]
        changes: dict[str, Any] = {"state": state} if state is not None else {}
        if unique_key is not None:
            changes["unique_key"] = unique_key
        if changes:
            db.session.execute(sa.update(Job).where(Job.id.in_(ids)).values(**changes))
            db.session.commit()
        db.session.remove()
    return ids


def run_jobs(server, ids: list[int]) -> None:
    """The digest runs these jobs (and no other test's)."""
    with _app(server).app_context():
        for job_id in ids:
            JobDigest(db.session).set_job(JobRepository(db.session).get(job_id)).execute()
        db.session.remove()


def states(server, ids: list[int]) -> dict[int, str]:
    with _app(server).app_context():
        found = {i: str(s) for i, s in db.session.execute(
            sa.select(Job.id, Job.state).where(Job.id.in_(ids)))}
        db.session.remove()
    return found


def record_retry(server, ids: list[int]) -> int:
    """An operator's Retry all over ``ids``, as the audit log has it; the entry's id."""
    with _app(server).app_context():
        entry = audit.record(db.session, "olga", "bulk-retry", ids, filter={"source": "x"},
                             detail=f"{len(ids)} changed, 0 refused")
        db.session.commit()
        entry_id = entry.id
        db.session.remove()
    return entry_id


def accessibility_jobs(server) -> dict[str, Any]:
    """The jobs the accessibility test opens the new states with, made once per server
    and never changed by it: failed for good, enough to type, finished, followed."""
    if "a11y-typed" not in server.jobs:
        permanent = add_jobs(server, "a11y-permanent", 2, type_code="test_not_applicable")
        run_jobs(server, permanent)
        add_jobs(server, "a11y-typed", 101)
        finished = add_jobs(server, "a11y-finished", 1)
        run_jobs(server, finished)
        server.jobs.update({"a11y-typed": 101, "a11y-finished": finished[0],
                            "a11y-entry": record_retry(server, permanent)})
    return server.jobs
