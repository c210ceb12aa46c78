"""Every ``flask --app dashboard ...`` command, registered here and only here.

One module per group of commands; each holds thin Click commands that parse options, call
the core or a feature's services, print a summary and exit non-zero when they failed.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask, *, digest_only: bool = False) -> None:
    """Each module's commands: ``digest``, ``enqueue``, ``demo-seed``, ``prune``, then the
    groups; ``digest_only``: the digest's alone, for a digest process (the other modules,
    some of which use the API's documents, are then not even imported)."""
    from . import queue

    if digest_only:
        app.cli.add_command(queue.digest_command)
        return
    from . import alerts, jobs, pauses, schedules, tokens, users

    for command in (
        queue.digest_command,
        queue.enqueue_command,
        queue.demo_seed_command,
        queue.prune_command,
        jobs.jobs_cli,
        alerts.alerts_cli,
        users.users_cli,
        tokens.tokens_cli,
        schedules.schedule_cli,
        pauses.types_cli,
        pauses.connectors_cli,
    ):
        app.cli.add_command(command)
