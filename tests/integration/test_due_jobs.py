"""The claim's rule has one definition (queue/store/due_jobs.py): each database's claim takes the
jobs it says, and PostgreSQL's function is the text generated from it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue.jobs.models import Job
from dashboard.queue.jobs.states import DUE_STATES, UNFINISHED_STATES, JobState
from dashboard.queue.store import claims, due_jobs, pauses
from dashboard.queue.store.claims import Lease
from dashboard.queue.store.dialect import for_connection
from tests.support.factories import save_job

jobs = Job.__table__

#: (name, relation, source, state, type), in the order they are saved (ids ascend).
SEEDED = [
    ("first of r1", "r1", "default", JobState.PENDING, "test_echo"),
    ("second of r1", "r1", "default", JobState.PENDING, "test_echo"),
    ("r1 of another source", "r1", "other", JobState.PENDING, "test_echo"),
    ("failed in r2", "r2", "default", JobState.FAILED, "test_echo"),
    ("after a failed job", "r2", "default", JobState.PENDING, "test_echo"),
    ("completed in r3", "r3", "default", JobState.COMPLETED, "test_echo"),
    ("after a completed job", "r3", "default", JobState.PENDING, "test_echo"),
    ("cancelled in r4", "r4", "default", JobState.CANCELLED, "test_echo"),
    ("retrying after a cancelled job", "r4", "default", JobState.RETRYING, "test_echo"),
    ("paused in r5", "r5", "default", JobState.PAUSED, "test_echo"),
    ("after a paused job", "r5", "default", JobState.PENDING, "test_echo"),
    ("running in r6", "r6", "default", JobState.RUNNING, "test_echo"),
    ("after a running job", "r6", "default", JobState.PENDING, "test_echo"),
    ("in no relation", None, "default", JobState.PENDING, "test_echo"),
    ("of a paused type", None, "default", JobState.PENDING, "test_boom"),
]
#: What the rule lets a claim take of them.
TAKEN = {"first of r1", "r1 of another source", "after a completed job",
         "retrying after a cancelled job", "in no relation"}


def seed(session, clock) -> dict[str, int]:
    ids = {}
    for name, relation, source, state, type_code in SEEDED:
        job = save_job(session, clock, (type_code, {"name": name}), relation_id=relation,
                       source_id=source)
        session.commit()
        session.execute(sa.update(jobs).where(jobs.c.id == job.id).values(state=state))
        ids[name] = job.id
    session.execute(sa.insert(pauses.paused_types).values(
        type_code="test_boom", paused_at=clock.now, paused_by="test"))
    session.commit()
    return ids


def held_back(name: str) -> bool:
    """The rule, said over SEEDED: an earlier unfinished job of the relation and source."""
    index = [s[0] for s in SEEDED].index(name)
    _, relation, source, _, _ = SEEDED[index]
    return relation is not None and any(
        (r, s) == (relation, source) and state in UNFINISHED_STATES
        for _, r, s, state, _ in SEEDED[:index])


def test_the_rule_over_the_seeded_jobs_is_what_the_test_expects():
    due = {name for name, _, _, state, type_code in SEEDED
           if state in DUE_STATES and type_code != "test_boom"}
    assert {name for name in due if not held_back(name)} == TAKEN


def test_each_databases_claim_takes_the_jobs_the_rule_lets_it(session, clock):
    ids = seed(session, clock)
    names = {job_id: name for name, job_id in ids.items()}
    clock.advance(seconds=1)
    with db.engine.connect() as conn:
        claimed = for_connection(conn).claim(conn, Lease("digest-a", 60), due_by=clock.now,
                                             now=clock.now, limit=100)
    assert {names[job_id] for job_id in claimed.ids} == TAKEN


def test_a_blocked_job_names_its_blocker_by_the_same_rule(session, clock):
    ids = seed(session, clock)
    for name, job_id in ids.items():
        assert (claims.blocking_job(session, job_id) is not None) == held_back(name), name


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresqls_claim_function_is_the_one_generated_now(session):
    # A change of the rule needs a migration that creates the function from the new text
    # (as 0023 does): the migrated database then has it.
    body, settings = session.execute(sa.text(
        "SELECT prosrc, proconfig FROM pg_proc WHERE proname = 'lock_due_jobs'")).one()
    assert body == due_jobs.lock_due_jobs_body()
    assert sorted(settings) == ["enable_bitmapscan=off", "enable_seqscan=off",
                                "enable_sort=off"]

