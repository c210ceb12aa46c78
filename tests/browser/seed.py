"""The data the browser tests look at: a week of history, and one job per test."""

from __future__ import annotations

from datetime import datetime, timedelta

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.auth.models import new_user
from dashboard.queue import JobDigest, JobRepository, QueueSettings
from tests.support.factories import make_job

OPERATOR = "olga"
VIEWER = "vic"
ADMIN = "ada"
#: The user the admin tests remove.
DOOMED = "dora"
PASSWORD = "browser-pass-1"
XSS_SCRIPT = "<script>window.__xss = 1</script>"
XSS_IMG = '"><img src=x onerror="window.__xss = 2; alert(2)">'
#: Unbroken strings that must wrap or scroll inside their own box on a phone.
LONG_TOKEN = "tok_" + "Q" * 240
LONG_URL = "https://api.example.com/v1/customers/" + "a1b2c3d4" * 50


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def seed(env: dict[str, str], now: datetime) -> dict[str, int]:
    """Build the database the server will use; returns the ids of the tests' jobs."""
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": "seed"})
    with app.app_context():
        upgrade()
        session = db.session
        session.add_all([new_user(OPERATOR, "operator", PASSWORD),
                         new_user(VIEWER, "viewer", PASSWORD),
                         new_user(ADMIN, "admin", PASSWORD),
                         new_user(DOOMED, "viewer", PASSWORD)])
        session.commit()
        clock = Clock(now - timedelta(days=7))
        repository = JobRepository(session, clock)
        _history(session, repository, clock, now)
        clock.now = now - timedelta(minutes=30)
        jobs = {}
        jobs["failed"] = _failing(repository, "cust-1001", {"customer_id": 1001, "n": 7,
                                                            "api_key": "sk-live-123"})
        jobs["retry"] = _failing(repository, "cust-1002", {"customer_id": 1002})
        bulk = [_failing(repository, f"cust-20{n}", {"n": n}, source="bulk-src")
                for n in range(4)]
        jobs["long"] = repository.save(make_job(
            ("test_echo", {"url": LONG_URL, "token": LONG_TOKEN}),
            ("test_fails_with", {"reason": f"410 Gone: {LONG_URL}"}),
            relation_id=LONG_TOKEN, source_id="src-" + "y" * 90)).id
        # Fails for good at once, every time it is retried.
        jobs["refail"] = repository.save(make_job(("test_not_applicable", {"customer_id": 7}),
                                                  relation_id="cust-refail")).id
        # 999 requests that succeed, then one that fails: the big job.
        jobs["big"] = repository.save(make_job(
            *[("test_flaky", {"fail_times": 0, "line": n}) for n in range(999)],
            ("test_not_applicable", {"line": 999}), relation_id="cust-big")).id
        for minutes in (0, 2, 4):
            clock.now = now - timedelta(minutes=20 - minutes)
            _digest(session, clock)
        clock.now = now - timedelta(minutes=5)
        for name in ("pause", "run", "cancel", "a11y", "focus"):
            job = make_job(("test_echo", {"step": name}))
            jobs[name] = repository.save(job).id
        xss = make_job(("test_echo", {"note": XSS_SCRIPT, "html": XSS_IMG}),
                       relation_id=XSS_IMG)
        jobs["xss"] = repository.save(xss).id
        jobs["bulk"] = bulk[0]
        session.remove()
    return jobs


def _failing(repository: JobRepository, relation: str, payload: dict,
             source: str = "default") -> int:
    job = make_job(("test_echo", {**payload, "password": "hunter2"}),
                   ("test_short_schedule", payload), relation_id=relation, source_id=source)
    return repository.save(job).id


def _history(session, repository: JobRepository, clock: Clock, now: datetime) -> None:
    """A week of traffic, every four hours: mostly successes, some retries and failures."""
    hour = 0
    while clock.now < now - timedelta(hours=1):
        kinds = [("test_echo", {"h": hour, "i": i}) for i in range(3 + hour % 5)]
        if hour % 3 == 0:
            kinds.append(("test_boom", {"h": hour}))
        if hour % 4 == 1:
            kinds.append(("test_not_applicable", {"h": hour}))
        repository.save_many([make_job(kind, relation_id=f"hist-{hour}-{n}")
                              for n, kind in enumerate(kinds)])
        _digest(session, clock)
        clock.now += timedelta(hours=4)
        hour += 1


def _digest(session, clock: Clock) -> None:
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()
