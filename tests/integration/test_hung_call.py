"""A call that hangs, in a real digest, cancelled by an operator: its digest stops holding
the job at once, and the call's late result is written down but moves the job nowhere."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.db import utcnow
from dashboard.queue import Job, JobState, Request
from dashboard.queue.jobs.models import Attempt
from dashboard.queue.jobs.states import RequestState
from tests.support.call_server import CallServer
from tests.support.concurrency import save
from tests.support.factories import make_job
from tests.support.http_types import TYPE_CODE
from tests.support.processes import wait_until

#: Renewed every 2 s while the call hangs.
SETTINGS = {"QUEUE_LEASE_SECONDS": 6, "QUEUE_TYPES": "tests.support.http_types"}


def lease_over(session, job: Job) -> bool:
    session.rollback()
    until = session.scalar(sa.select(Job.locked_until).where(Job.id == job.id))
    return until is not None and until < utcnow()


@pytest.mark.slow
def test_a_hung_call_cancelled_is_let_go_and_its_late_result_moves_nothing(
        session, digests, runner):
    with CallServer() as server:
        job, = save(session, [make_job((TYPE_CODE, {"url": server.url, "hold": True}),
                                       (TYPE_CODE, {"url": server.url, "step": 2}))])
        digest = digests.start(**SETTINGS)
        wait_until(lambda: server.held() == 1, what="the call to hang at the server")

        shown = runner.invoke(args=["jobs", "show", str(job.id)])
        assert "times out after 300s" in shown.stdout, shown.output
        cancelled = runner.invoke(args=["jobs", "cancel", str(job.id)])
        assert cancelled.exit_code == 0, cancelled.output
        # Its digest no longer renews the lease: it runs out while the call still hangs.
        wait_until(lambda: lease_over(session, job), timeout=20,
                   what="the cancelled job's lease to run out")
        assert server.held() == 1
        server.released.set()
        assert digest.wait(60) == 0, digest.output

    assert len(server.calls) == 1  # the job's second request never started
    session.rollback()
    found = session.execute(sa.select(Job.state, Job.locked_by).where(Job.id == job.id)).one()
    assert (found.state, found.locked_by) == (JobState.CANCELLED, None)
    states = session.scalars(sa.select(Request.state).where(Request.job_id == job.id)
                             .order_by(Request.position)).all()
    # The call did succeed: that is written down, and nothing more.
    assert states == [RequestState.SUCCEEDED, RequestState.CANCELLED]
    outcomes = session.scalars(sa.select(Attempt.outcome).join(Request)
                               .where(Request.job_id == job.id)).all()
    assert outcomes == ["succeeded"]
    assert f"job {job.id}: cancelled by an operator; left as it is" in digest.stderr
