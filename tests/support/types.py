"""Request types used by the tests (imported by conftest and by digest subprocesses)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from dashboard.queue import PermanentFailure, RequestContext, RequestType


class Echo(RequestType):
    type_code = "test_echo"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        return {"payload": payload, "previous": context.previous_result,
                "job": context.job.id if context.job else None}


class Boom(RequestType):
    type_code = "test_boom"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        raise RuntimeError(f"boom {payload.get('n', '')}".strip())


class NotApplicable(RequestType):
    type_code = "test_not_applicable"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        raise PermanentFailure("customer is outside the synced groups")


class Flaky(RequestType):
    """Fails its first ``fail_times`` attempts."""

    type_code = "test_flaky"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        if context.request.attempt <= payload["fail_times"]:
            raise ConnectionError(f"attempt {context.request.attempt} timed out")
        return {"attempt": context.request.attempt}


class ShortSchedule(RequestType):
    type_code = "test_short_schedule"
    max_attempts = 3
    retry_delay = 60

    def execute(self, payload: Any, context: RequestContext) -> Any:
        raise RuntimeError("always")


class NotJson(RequestType):
    type_code = "test_not_json"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        return {"when": object()}


class WritesOwnRow(RequestType):
    """Writes to the queue's database through a connection of its own, as user code may."""

    type_code = "test_writes_own_row"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        connect_args = {"timeout": 2} if payload["url"].startswith("sqlite") else {}
        engine = sa.create_engine(payload["url"], connect_args=connect_args)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    "CREATE TABLE IF NOT EXISTS side_effects (job_id INTEGER)")
                connection.execute(sa.text("INSERT INTO side_effects VALUES (:j)"),
                                   {"j": context.job.id})
        finally:
            engine.dispose()
        return "written"


class FailsWith(RequestType):
    """Fails for good with the reason its payload gives (HTML, very long lines...)."""

    type_code = "test_fails_with"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        raise PermanentFailure(payload["reason"])


class Interferes(RequestType):
    """While it runs, someone else changes a job (its own unless the payload names one):
    an operator's ``pause`` or ``cancel``, or ``take``: another digest takes it over."""

    type_code = "test_interferes"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        from datetime import UTC, datetime

        from sqlalchemy.orm import Session

        from dashboard.queue.jobs.models import Job
        from dashboard.queue.operations import actions

        job_id = payload.get("job", context.job.id)
        connect_args = {"timeout": 2} if payload["url"].startswith("sqlite") else {}
        engine = sa.create_engine(payload["url"], connect_args=connect_args)
        try:
            with Session(engine) as session:
                if payload["do"] == "take":
                    session.execute(sa.update(Job).where(Job.id == job_id).values(
                        locked_by="another digest"))
                    session.commit()
                else:
                    actions.apply(session, payload["do"], job_id, datetime.now(UTC))
                    session.commit()
        finally:
            engine.dispose()
        if payload.get("fail"):
            raise ConnectionError("timed out")
        return "done"


class Leaks(RequestType):
    """A careless type: says its payload's password in a log line and in its error."""

    type_code = "test_leaks"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        context.logger.warning("logging in with %s", payload["password"])
        raise ConnectionError(f"login refused for password {payload['password']!r}")


class Sleeps(RequestType):
    """Takes ``payload["seconds"]``, as a slow external API does; or, given ``until`` (a
    ``time.time()``), answers then: calls that end at one moment."""

    type_code = "test_sleeps"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        if "until" in payload:
            time.sleep(max(0.0, payload["until"] - time.time()))
            return {"slept_until": payload["until"]}
        time.sleep(payload["seconds"])
        return {"slept": payload["seconds"]}


class KillsItsWorker(RequestType):
    """Ends the process's request as gunicorn's timeout does: SystemExit in the worker."""

    type_code = "test_kills_its_worker"

    def execute(self, payload: Any, context: RequestContext) -> Any:
        raise SystemExit(1)
