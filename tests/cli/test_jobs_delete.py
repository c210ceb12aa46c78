"""``flask jobs delete ID``: asks first (``--yes`` does not), deletes only finished jobs,
and records the OS user in the audit log."""

from __future__ import annotations

import getpass

import pytest
import sqlalchemy as sa

from dashboard.queue import Job
from tests.support.api import audit_rows
from tests.support.factories import save_job
from tests.support.web import run_digest

ME = f"cli:{getpass.getuser()}"


@pytest.fixture
def jobs(session, clock):
    done = save_job(session, clock, ("test_echo", {}))
    failed = save_job(session, clock, ("test_not_applicable", {}))
    run_digest(session, clock)
    waiting = save_job(session, clock, ("test_echo", {}))
    session.rollback()
    return {"done": done.id, "failed": failed.id, "waiting": waiting.id}


def exists(session, job_id: int) -> bool:
    session.rollback()
    return session.scalar(sa.select(Job.id).where(Job.id == job_id)) is not None


def test_delete_asks_first_and_a_no_keeps_the_job(runner, session, jobs):
    result = runner.invoke(args=["jobs", "delete", str(jobs["done"])], input="n\n")
    assert result.exit_code == 1
    assert f"Delete job #{jobs['done']} for good" in result.stderr
    assert exists(session, jobs["done"])
    assert audit_rows(session) == []


def test_delete_after_a_yes(runner, session, jobs):
    result = runner.invoke(args=["jobs", "delete", str(jobs["done"])], input="y\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Job #{jobs['done']} is deleted.\n"
    assert not exists(session, jobs["done"])
    assert audit_rows(session) == [(ME, "delete", jobs["done"])]


def test_delete_with_yes_does_not_ask_and_refuses_an_unfinished_job(runner, session, jobs):
    result = runner.invoke(args=["jobs", "delete", "--yes", str(jobs["failed"]),
                                 str(jobs["waiting"])])
    assert result.exit_code == 1
    assert "for good" not in result.stderr  # not asked
    assert f"can't delete job {jobs['waiting']}: it is pending" in result.stderr
    assert not exists(session, jobs["failed"]) and exists(session, jobs["waiting"])
    assert audit_rows(session) == [(ME, "delete", jobs["failed"])]
