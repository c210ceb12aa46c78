"""The digest's record of its runs: a week of them is kept."""

from datetime import timedelta

import sqlalchemy as sa

from dashboard.queue import DigestRun, JobDigest, QueueSettings


def test_runs_older_than_a_week_are_deleted_when_a_run_ends(session, clock):
    for days in (8, 6):
        session.add(DigestRun(worker=f"{days} days ago", jobs=0, succeeded=0, failed=0,
                              retrying=0, started_at=clock.now - timedelta(days=days)))
    session.commit()
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()
    session.rollback()
    kept = session.scalars(sa.select(DigestRun.worker).order_by(DigestRun.id)).all()
    assert kept[0] == "6 days ago" and len(kept) == 2
