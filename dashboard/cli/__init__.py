"""Every ``flask --app dashboard ...`` command, registered here and only here.

One module per group of commands; each holds thin Click commands that parse options, call
the core or a feature's services, print a summary and exit non-zero when they failed.
"""

from __future__ import annotations

from flask import Flask

from . import alerts, jobs, pauses, queue, schedules, tokens, users

#: Each module's commands: ``digest``, ``enqueue``, ``demo-seed``, ``prune``, then the groups.
COMMANDS = (
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
)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
