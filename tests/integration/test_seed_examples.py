"""The seed README's three usage examples, in Python."""

from dashboard.queue import (
    JobBuilder,
    JobDigest,
    JobRepository,
    JobState,
    RequestState,
    execute_direct,
    registry,
)


def test_creating_an_asynchronous_job(session, clock):
    job = JobBuilder().set_relation_id("cust-42").set_store_id(1).create()
    job.request_builder().set_type_code("test_echo").set_payload(
        {"customer_id": 42, "action": "create"}).create()
    job.request_builder().set_type_code("test_echo").set_payload(
        {"customer_id": 42, "template": "welcome"}).create()
    JobRepository(session, clock).save(job)
    assert job.id is not None
    session.expire_all()

    stored = JobRepository(session).get(job.id)
    assert stored.state == JobState.PENDING
    assert [r.position for r in stored.requests] == [0, 1]

    result = JobDigest(session, clock=clock).execute()
    assert (result.jobs, result.succeeded) == (1, 2)
    stored = JobRepository(session).get(job.id)
    assert stored.state == JobState.COMPLETED
    assert stored.finished_at == clock.now
    first, second = stored.requests
    assert first.state == second.state == RequestState.SUCCEEDED
    # Chaining: the second request received the first one's result.
    assert '"previous": {"payload": {"customer_id": 42, "action": "create"}' in second.result


def test_direct_execution_bypasses_the_queue(session):
    type_cls = registry.get("test_echo")
    assert type_cls.type_code == "test_echo"
    assert execute_direct("test_echo", {"customer_id": "42"})["payload"] == {"customer_id": "42"}
    assert JobRepository(session).get(1) is None  # nothing was stored


def test_job_digest_runs_one_job_immediately(session, clock):
    job = JobBuilder().set_relation_id("cust-7").set_store_id(1).create()
    job.request_builder().set_type_code("test_echo").set_payload({"customer_id": 7}).create()
    result = JobDigest(session, clock=clock).set_job(job).execute()
    assert result.succeeded == 1
    assert job.id is not None
    assert job.state == JobState.COMPLETED
