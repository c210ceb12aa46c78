"""Demo request types and jobs: one that succeeds, one that fails for good, one that
fails once then recovers. Registered with ``QUEUE_TYPES=dashboard.queue.demo``."""

from __future__ import annotations

import random
from typing import Any

from . import JobBuilder, PermanentFailure, RequestContext, RequestType


class CustomerSync(RequestType):
    """Always succeeds, returning an id that the next request of the job receives."""

    type_code = "demo_customer_sync"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        return {"remote_id": f"R-{payload['customer_id']}", "synced": True}


class LoyaltyPoints(RequestType):
    """Fails once, then succeeds (the previous request's result is passed along)."""

    type_code = "demo_loyalty_points"
    retry_delay = 0

    def execute(self, payload: Any, context: RequestContext) -> Any:
        if context.request is not None and context.request.attempt == 1:
            raise ConnectionError("loyalty API timed out (demo: the next attempt succeeds)")
        remote = (context.previous_result or {}).get("remote_id")
        return {"points": payload.get("points", 0), "remote_id": remote}


class Webhook(RequestType):
    """Fails for good: the receiving endpoint says it will never accept this."""

    type_code = "demo_webhook"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        raise PermanentFailure(f"endpoint {payload.get('url')} answered 410 Gone")


def demo_jobs(count: int) -> list:
    jobs = []
    for number in range(count):
        customer = 1000 + number
        job = JobBuilder().set_relation_id(f"cust-{customer}").set_store_id(1 + number % 2).create()
        job.request_builder().set_type_code("demo_customer_sync").set_payload(
            {"customer_id": customer, "email": f"c{customer}@example.test",
             "password": "hunter2"}).create()
        kind = random.Random(number).choice(["ok", "ok", "flaky", "gone"])
        if kind == "flaky":
            job.request_builder().set_type_code("demo_loyalty_points").set_payload(
                {"customer_id": customer, "points": 10 * number}).create()
        elif kind == "gone":
            job.request_builder().set_type_code("demo_webhook").set_payload(
                {"url": f"https://hooks.example.test/{customer}"}).create()
        jobs.append(job)
    return jobs
