"""Pruning finished jobs, on every database."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queue import Attempt, DigestRun, FailureAlert, Job, JobDigest, JobState, Request
from dashboard.queue.jobs.models import AttemptHour
from dashboard.queue.operations import actions, retention
from tests.support.factories import save_job

DAYS_30 = timedelta(days=30)


def make(session, clock, state, n=0):
    """A job of two requests brought to ``state`` at the clock's time, the way it happens."""
    if state == JobState.FAILED:
        job = save_job(session, clock, ("test_echo", {"n": n}), ("test_not_applicable", {}))
    else:
        job = save_job(session, clock, ("test_echo", {"n": n}), ("test_echo", {"n": n + 1}))
    if state == JobState.CANCELLED:
        actions.apply(session, "cancel", job.id, clock.now)
        session.commit()
    elif state != JobState.PENDING:
        JobDigest(session, clock=clock).set_job(job).execute()
    session.expire_all()
    assert session.get(Job, job.id).state == state
    return job.id


def remaining(session):
    session.expire_all()
    return set(session.scalars(sa.select(Job.id)))


def orphans(session):
    orphan_requests = session.scalar(sa.select(sa.func.count()).select_from(Request).where(
        ~sa.exists().where(Job.id == Request.job_id)))
    orphan_attempts = session.scalar(sa.select(sa.func.count()).select_from(Attempt).where(
        ~sa.exists().where(Request.id == Attempt.request_id)))
    return orphan_requests, orphan_attempts


def test_old_completed_and_cancelled_jobs_go_with_their_requests_and_attempts(session, clock):
    old_completed = make(session, clock, JobState.COMPLETED)
    old_cancelled = make(session, clock, JobState.CANCELLED, n=10)
    old_failed = make(session, clock, JobState.FAILED, n=20)
    old_pending = make(session, clock, JobState.PENDING, n=30)
    clock.advance(days=20)
    recent = make(session, clock, JobState.COMPLETED, n=40)

    result = retention.prune(session, older_than=DAYS_30, now=clock.now + timedelta(days=15))

    assert (result.jobs, result.requests, result.attempts) == (2, 4, 2)
    kept = remaining(session)
    assert old_completed not in kept and old_cancelled not in kept
    assert {old_failed, old_pending, recent} <= kept
    assert orphans(session) == (0, 0)
    # The jobs kept still have all their requests and attempts.
    assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 6


def test_failed_jobs_are_kept_unless_named(session, clock):
    failed = make(session, clock, JobState.FAILED)
    completed = make(session, clock, JobState.COMPLETED, n=10)
    later = clock.now + timedelta(days=31)
    assert retention.prune(session, older_than=DAYS_30, now=later).jobs == 1
    assert remaining(session) == {failed}
    assert session.scalar(sa.select(sa.func.count()).select_from(FailureAlert)) == 1
    result = retention.prune(session, older_than=DAYS_30, now=later, states=[JobState.FAILED])
    assert (result.jobs, result.requests, result.attempts) == (1, 2, 2)
    assert remaining(session) == set() and completed
    # Its failure alert went with it.
    assert session.scalar(sa.select(sa.func.count()).select_from(FailureAlert)) == 0


def test_the_cutoff_is_by_finished_at_and_strict(session, clock):
    job = make(session, clock, JobState.COMPLETED)
    assert retention.prune(session, older_than=DAYS_30, now=clock.now + DAYS_30).jobs == 0
    assert remaining(session) == {job}
    assert retention.prune(
        session, older_than=DAYS_30, now=clock.now + DAYS_30 + timedelta(microseconds=1)).jobs == 1


def test_nothing_to_prune(session, clock):
    result = retention.prune(session, older_than=DAYS_30, now=clock.now)
    assert result == retention.PruneResult(0, 0, 0, 0)
    make(session, clock, JobState.PENDING)
    assert retention.prune(session, older_than=timedelta(0), now=clock.now).jobs == 0


def test_deletes_in_batches(session, clock):
    ids = [make(session, clock, JobState.COMPLETED, n=10 * i) for i in range(5)]
    result = retention.prune(session, older_than=DAYS_30, now=clock.now + timedelta(days=31),
                             batch_size=2)
    assert (result.jobs, result.requests, result.batches) == (5, 10, 3)
    assert remaining(session) == set() and len(ids) == 5


def test_dry_run_counts_what_would_go_and_deletes_nothing(session, clock):
    make(session, clock, JobState.COMPLETED)
    make(session, clock, JobState.CANCELLED, n=10)
    make(session, clock, JobState.FAILED, n=20)
    later = clock.now + timedelta(days=31)
    before = remaining(session)
    dry = retention.prune(session, older_than=DAYS_30, now=later, dry_run=True)
    assert remaining(session) == before
    real = retention.prune(session, older_than=DAYS_30, now=later)
    assert (dry.jobs, dry.requests, dry.attempts) == (real.jobs, real.requests, real.attempts)
    assert (dry.jobs, dry.requests, dry.attempts) == (2, 4, 2)


@pytest.mark.parametrize("states", [[], [JobState.PENDING], [JobState.RUNNING]])
def test_only_finished_states_can_be_pruned(session, clock, states):
    with pytest.raises(ValueError, match="only completed, cancelled, failed jobs can be pruned"):
        retention.prune(session, older_than=DAYS_30, now=clock.now, states=states)


def test_the_schema_cascades_too(session, clock):
    """Deleting a job row by hand (not through prune) takes its children along as well."""
    job_id = make(session, clock, JobState.COMPLETED)
    session.execute(sa.delete(Job.__table__).where(Job.__table__.c.id == job_id))
    session.commit()
    assert orphans(session) == (0, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 0


def test_a_job_someone_holds_is_skipped_not_waited_for(session, clock):
    """An operator's retry of a failed job holds its row: prune leaves that one for next
    time instead of waiting (SQLite locks the whole file instead, so it is not tried)."""
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite has no row locks")
    held, other = (make(session, clock, JobState.FAILED, n=10 * i) for i in range(2))
    jobs = Job.__table__
    with session.get_bind().connect() as operator:
        with operator.begin():
            operator.execute(sa.select(jobs.c.id).where(jobs.c.id == held).with_for_update())
            result = retention.prune(session, older_than=DAYS_30,
                                     now=clock.now + timedelta(days=31), states=[JobState.FAILED])
    assert result.jobs == 1
    assert remaining(session) == {held}
    assert other not in remaining(session)


def history(session) -> tuple[list[str], list[int], list[str]]:
    """The digest runs (by worker), failure alerts (by attempts) and hourly rows (by type)
    that are left."""
    session.expire_all()
    return (sorted(session.scalars(sa.select(DigestRun.worker))),
            sorted(session.scalars(sa.select(FailureAlert.attempts))),
            sorted(session.scalars(sa.select(AttemptHour.type_code))))


def add_history(session, clock, job_id: int, *, age: timedelta, name: str) -> None:
    """A finished digest run, a sent alert and an hourly row, all ``age`` old; and an
    alert not sent yet (never pruned, however old)."""
    at = clock.now - age
    session.add_all([
        DigestRun(worker=name, started_at=at, finished_at=at, jobs=0, succeeded=0, failed=0,
                  retrying=0),
        FailureAlert(job_id=job_id, request_id=0, attempts=age.days, failed_at=at, sent_at=at),
        FailureAlert(job_id=job_id, request_id=0, attempts=1000 + age.days, failed_at=at),
        AttemptHour(hour=at.replace(minute=0, second=0, microsecond=0), type_code=name,
                    succeeded=1, failed=0),
    ])
    session.commit()


@pytest.fixture
def job_id(session, clock):
    return save_job(session, clock, ("test_echo", {})).id


def test_prune_history_forgets_old_runs_sent_alerts_and_hours(session, clock, job_id):
    # Each kind has its own age: runs after 7 days, sent alerts after 30, hours after 8.
    for days in (6, 7, 9, 29, 31):
        add_history(session, clock, job_id, age=timedelta(days=days, minutes=1),
                    name=f"d{days:02}")
    pruned = retention.prune_history(session, now=clock.now)
    session.commit()
    assert pruned == retention.HistoryPruned(runs=4, sent_alerts=1, hours=3)
    runs, alerts, hours = history(session)
    assert runs == ["d06"]
    assert alerts == [6, 7, 9, 29, 1006, 1007, 1009, 1029, 1031]   # unsent ones stay
    assert hours == ["d06", "d07"]


def test_prune_history_is_in_the_callers_transaction(session, clock, job_id):
    add_history(session, clock, job_id, age=timedelta(days=40), name="old")
    retention.prune_history(session, now=clock.now)
    session.rollback()
    assert history(session) == (["old"], [40, 1040], ["old"])


def test_prune_history_deletes_a_batch_of_each_kind_per_call(session, clock, job_id):
    for days in (40, 41, 42):
        add_history(session, clock, job_id, age=timedelta(days=days), name=f"d{days}")
    first = retention.prune_history(session, now=clock.now, batch_size=2)
    session.commit()
    assert first == retention.HistoryPruned(runs=2, sent_alerts=2, hours=2)
    second = retention.prune_history(session, now=clock.now, batch_size=2)
    session.commit()
    assert second == retention.HistoryPruned(runs=1, sent_alerts=1, hours=1)
    assert history(session) == ([], [1040, 1041, 1042], [])


def test_each_digest_run_prunes_the_history(session, clock, job_id):
    add_history(session, clock, job_id, age=timedelta(days=40), name="old")
    add_history(session, clock, job_id, age=timedelta(days=1), name="new")
    JobDigest(session, clock=clock).execute()
    runs, alerts, hours = history(session)
    assert "old" not in runs and "new" in runs
    assert alerts == [1, 1001, 1040]
    assert hours == ["new"]
