"""Settings and helpers shared by the failure alert tests."""

from __future__ import annotations

from dashboard.queue import JobDigest

DASHBOARD = "https://queue.example.test"
RECIPIENTS = ["ops@example.test", "lead@example.test"]


def mail_config(config: dict, port: int, **overrides: object) -> dict:
    return {
        **config,
        "QUEUE_ALERT_TO": " ops@example.test , lead@example.test",
        "MAIL_DEFAULT_SENDER": "AsyncQueue <queue@example.test>",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        # Flask-Mail suppresses sending when TESTING; these tests talk to a real server.
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 2.0,
        "DASHBOARD_URL": DASHBOARD,
        "QUEUE_ALERT_INTERVAL": 900.0,
        **overrides,
    }


def run_digest(session, clock, **options):
    """One digest run with the app's settings, so its run listener sends the alerts."""
    return JobDigest(session, clock=clock, **options).execute()
