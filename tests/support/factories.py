"""Building and saving jobs in tests."""

from __future__ import annotations

from typing import Any

from dashboard.queue import Job, JobBuilder, JobRepository


def make_job(*requests: tuple[str, Any], relation_id: str | None = None,
             source_id: str = "default", store_id: int | None = None) -> Job:
    job = (JobBuilder().set_relation_id(relation_id).set_store_id(store_id)
           .set_source_id(source_id).create())
    for type_code, payload in requests:
        job.request_builder().set_type_code(type_code).set_payload(payload).create()
    return job


def save_job(session, clock, *requests: tuple[str, Any], **fields: Any) -> Job:
    """A saved job, in ``session``: tests change it there and commit (a save hands back a
    detached copy)."""
    job = JobRepository(session, clock).save(make_job(*requests, **fields))
    session.add(job)
    return job
