"""The dashboard's read side on every database: hourly counts, state counts, audit."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from dashboard import audit
from dashboard.queries import hourly, overview
from dashboard.queue import JobDigest, JobState, QueueSettings
from dashboard.queue.jobs.models import AttemptHour
from dashboard.queue.operations import stats
from tests.support.factories import save_job


def run(session, clock):
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()


def test_hours_are_counted_once_settled_and_live_until_then(session, clock):
    save_job(session, clock, ("test_echo", {}), ("test_not_applicable", {}))
    run(session, clock)
    now = clock.now + timedelta(minutes=3)
    counts = hourly.by_hour(session, now, 24)
    assert counts.totals()[-1].succeeded == 1 and counts.totals()[-1].failed == 1
    assert len(counts.totals()) == 24
    # The hour under way, and the one that ended under 5 minutes ago, are not to be kept;
    # the 22 settled ones are (as zeros). Reading wrote nothing: the caller keeps them.
    assert len(counts.to_keep) == 22
    assert session.scalar(sa.select(sa.func.count()).select_from(AttemptHour)) == 0
    stats.keep_hours(session, counts.to_keep)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(AttemptHour)) == 22
    assert hourly.by_hour(session, now, 24).to_keep == {}   # read back, not recounted
    later = now + timedelta(hours=2)
    counts = hourly.by_hour(session, later, 24)
    assert sorted(counts.to_keep) == [hourly.floor_hour(now) - timedelta(hours=1),
                                      hourly.floor_hour(now)]
    stats.keep_hours(session, counts.to_keep)
    session.commit()
    stored = session.scalars(sa.select(AttemptHour).where(
        AttemptHour.hour == hourly.floor_hour(now), AttemptHour.type_code == "*")).one()
    assert (stored.succeeded, stored.failed) == (1, 1)
    assert counts.failing_types(24) == [("test_not_applicable", 1, 0)]


def test_a_stored_hour_is_read_not_recounted(session, clock):
    hour = hourly.floor_hour(clock.now) - timedelta(hours=3)
    session.add_all([AttemptHour(hour=hour, type_code="*", succeeded=7, failed=2),
                     AttemptHour(hour=hour, type_code="crm", succeeded=7, failed=2)])
    session.commit()
    counts = hourly.by_hour(session, clock.now, 6)
    assert [(c.succeeded, c.failed) for c in counts.totals()][2] == (7, 2)
    assert counts.failing_types(6) == [("crm", 2, 7)]


def test_state_counts_are_exact_up_to_the_cap(session, clock):
    for _ in range(4):
        save_job(session, clock, ("test_echo", {}))
    counts = {c.state: c for c in overview.state_counts(session, cap=3)}
    assert (counts[JobState.PENDING].count, counts[JobState.PENDING].kind) == (3, "at least")
    assert (counts[JobState.FAILED].count, counts[JobState.FAILED].kind) == (0, "exact")
    assert overview.state_counts(session, cap=10)[0].count == 4


def test_oldest_due_job(session, clock):
    assert overview.oldest_due(session, clock.now) is None
    first = save_job(session, clock, ("test_echo", {}))
    clock.advance(minutes=5)
    save_job(session, clock, ("test_echo", {}))
    due = overview.oldest_due(session, clock.now)
    assert (due.id, due.due_since) == (first.id, clock.now - timedelta(minutes=5))


def test_the_oldest_due_job_is_never_one_a_digest_could_not_take(session, clock):
    held = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    held.state = JobState.PAUSED  # unfinished: the later jobs of its relation wait
    session.commit()
    clock.advance(minutes=1)
    blocked = save_job(session, clock, ("test_echo", {"n": 1}), relation_id="cust-1")
    clock.advance(minutes=1)
    assert overview.oldest_due(session, clock.now) is None  # blocked alone: none to take
    assert overview.digest_silence(session, clock.now, 1.0, None) is None
    free = save_job(session, clock, ("test_echo", {"n": 2}), relation_id="cust-2")
    clock.advance(minutes=1)
    due = overview.oldest_due(session, clock.now)
    assert due is not None and (due.id, due.due_since) == (free.id, free.next_attempt_at)
    assert blocked.id < free.id


def test_a_bulk_action_rolled_back_by_its_caller_leaves_no_change_and_no_entry(session,
                                                                              clock):
    from dashboard.actions.bulk import apply_bulk
    from dashboard.audit import AuditEntry
    from dashboard.queue import Job

    job = save_job(session, clock, ("test_echo", {}))
    done = apply_bulk(session, "cancel", [job.id], actor="cli:ops", now=clock.now)
    assert done.changed == [job.id]
    session.rollback()
    assert session.get(Job, job.id).state == JobState.PENDING
    assert session.scalars(sa.select(AuditEntry)).all() == []


def test_audit_record_is_usable_outside_the_web(session, clock):
    entry = audit.record(session, "cli:ops", "bulk-retry", [3, 1, 3], filter={"state": "failed"},
                         detail="from a script", at=clock.now)
    assert entry.job_count == 2
    page = audit.entries(session, job_id=3)
    assert [e.id for e in page.entries] == [entry.id]
    assert audit.job_ids_of(session, page.entries) == {entry.id: [1, 3]}
    assert audit.entries(session, actor="someone else").entries == []


def test_bulk_action_refuses_jobs_that_changed_and_audits_the_rest_at_once(session, clock):
    from dashboard.actions.bulk import apply_bulk
    from dashboard.audit import AuditEntry, AuditJob
    from dashboard.queue import Job

    jobs = [save_job(session, clock, ("test_echo", {"n": n})) for n in range(3)]
    done = session.get(Job, jobs[1].id)
    done.state = JobState.COMPLETED
    ids = [j.id for j in jobs]
    session.commit()  # apply_bulk begins a transaction of its own: none may be open
    bulk = apply_bulk(session, "pause", ids, actor="cli:ops", now=clock.now,
                      filter={"source": "default"})
    changed, refused = bulk.changed, bulk.refused
    session.commit()  # the caller's: apply_bulk writes in its transaction, never commits
    assert changed == [jobs[0].id, jobs[2].id]
    assert list(refused) == [jobs[1].id] and "it is completed" in refused[jobs[1].id]
    session.expire_all()
    assert [session.get(Job, j.id).state for j in jobs] == [
        JobState.PAUSED, JobState.COMPLETED, JobState.PAUSED]
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.job_count, entry.detail) == (
        "bulk-pause", 2, "2 changed, 1 refused")
    assert sorted(session.scalars(sa.select(AuditJob.job_id))) == changed


def test_an_audit_entry_belongs_to_its_callers_transaction(session, clock):
    audit.record(session, "cli:ops", "retry", [1], at=clock.now)
    session.rollback()
    assert audit.entries(session).entries == []
    kept = audit.record(session, "cli:ops", "retry", [1], at=clock.now)
    session.commit()
    session.rollback()
    assert [e.id for e in audit.entries(session).entries] == [kept.id]


def test_an_operation_and_its_entry_are_committed_by_the_caller_or_not_at_all(session, clock):
    from dashboard.actions import one_job
    from dashboard.queue import Job

    job = save_job(session, clock, ("test_echo", {}))
    done = one_job.perform(session, "pause", job.id, actor="cli:ops", now=clock.now)
    assert done.message == f"Job #{job.id} is paused."
    session.rollback()
    assert session.get(Job, job.id).state == JobState.PENDING
    assert audit.entries(session).entries == []
    one_job.perform(session, "pause", job.id, actor="cli:ops", now=clock.now)
    session.commit()
    session.rollback()
    assert session.get(Job, job.id).state == JobState.PAUSED
    assert [e.action for e in audit.entries(session).entries] == ["pause"]
