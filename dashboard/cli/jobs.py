"""``flask --app dashboard jobs list|show|retry|pause|resume|cancel|run|delete``: the dashboard's
pages and buttons from a shell, with the same filters, rules and audit entries.

With ``--json`` standard output holds only JSON (the API's documents); messages go to
standard error. A refused action, or an unknown job, makes the command exit 1.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from ..actions import one_job
from ..api import documents
from ..app.extensions import db
from ..queries.detail import job_detail
from ..queries.filters import BadFilter, parse_filter
from ..queries.jobs import PAGE_SIZE, check_filter, list_jobs
from ..queries.search import time_limit
from ..queue.jobs import search_copy
from ..queue.jobs.masking import Masker
from ..queue.jobs.settings import clock
from ..queue.jobs.terminal import printable, printable_json
from ..queue.operations.actions import ACTIONS, Action
from .common import JOB_ID, actor, database_errors

jobs_cli = AppGroup("jobs", help="List, show and act on jobs, as the dashboard does.")


def _print_json(value: Any) -> None:
    click.echo(printable_json(json.dumps(value, indent=2, ensure_ascii=False)))


def _masker() -> Masker:
    return Masker(current_app.config["QUEUE_MASKED_KEYS"])


#: The page's URL parameters, as options of the same names.
FILTER_OPTIONS = [
    ("state", "Jobs in this state."), ("type", "Jobs with a request of this type code."),
    ("relation", "relation_id."), ("store", "store_id."), ("source", "source_id."),
    ("from", "Created at or after: YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."),
    ("to", "Created before (a date includes its whole day)."),
    ("q", "Text searched in payloads and failure reasons."),
    ("priority", "Jobs of this priority (-100 to 100)."),
]


def filter_options(command: Any) -> Any:
    for name, text in reversed(FILTER_OPTIONS):
        command = click.option(f"--{name}", f"filter_{name}", help=text)(command)
    return command


@jobs_cli.command("list")
@filter_options
@click.option("--before", type=JOB_ID, help="Jobs older than this id (the next page).")
@click.option("--limit", type=click.IntRange(1, 1000), default=PAGE_SIZE, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def list_command(before: int | None, limit: int, as_json: bool, **filters: str | None) -> None:
    """Jobs matching the filters, newest first, as the job list shows them."""
    params = {name.removeprefix("filter_"): value for name, value in filters.items()
              if value is not None}
    with database_errors():
        try:
            found = parse_filter(params)
            check_filter(db.session(), found)
            with time_limit(db.session(), found,
                            current_app.config["DASHBOARD_SEARCH_TIMEOUT_MS"]):
                page = list_jobs(db.session(), found, before=before, limit=limit)
        except BadFilter as error:
            raise click.BadParameter(f"{error.value!r} {error.reason}",
                                        param_hint=f"--{error.parameter}") from None
    if as_json:
        _print_json(documents.job_page(page))
    for row in [] if as_json else page.rows:
        # Each column one line of text: a tab or an escape sequence in an error can't
        # shift the columns or act on the terminal.
        click.echo("\t".join(printable(column, one_line=True) for column in [
            f"#{row.id}", row.shown_state.value, f"relation={row.relation_id or '-'}",
            f"store={'-' if row.store_id is None else row.store_id}", f"source={row.source_id}",
            f"created={row.created_at:%Y-%m-%d %H:%M:%S}", ",".join(row.type_codes),
            f"attempts={row.attempts}", row.last_error or "",
        ]).rstrip("\t"))
    if not page.rows:
        click.echo("no jobs match", err=True)
    if page.next_before:
        click.echo(f"more: add --before {page.next_before} for the next page", err=True)


@jobs_cli.command("show")
@click.argument("job_id", type=JOB_ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def show_command(job_id: int, as_json: bool) -> None:
    """One job: its fields, requests (secrets masked) and every attempt."""
    with database_errors():
        detail = job_detail(db.session(), job_id)
        if detail is None:
            raise click.ClickException(f"job {job_id} does not exist")
        document = documents.job_document(detail, _masker())
    if as_json:
        _print_json(document)
        return
    for line in describe(document):
        click.echo(printable(line, one_line=True))


def describe(job: dict[str, Any]) -> list[str]:
    """A job document as lines of text for a terminal."""
    lines = [
        f"job #{job['id']}: {job['state']}",
        f"  relation {job['relation_id'] or '-'}, store "
        f"{'-' if job['store_id'] is None else job['store_id']}, source {job['source_id']}",
        f"  created {job['created_at']}, next attempt {job['next_attempt_at'] or '-'}, "
        f"finished {job['finished_at'] or '-'}",
    ]
    if job["blocked_by"]:
        lines.append(f"  blocked by job #{job['blocked_by']}, an earlier unfinished job of "
                     "the same relation")
    for request in job["requests"]:
        lines += [
            f"request {request['position'] + 1} (#{request['id']}) {request['type_code']}: "
            f"{request['state']}, {request['attempts']} attempt(s) this round",
            f"  payload: {json.dumps(request['payload'], ensure_ascii=False)}",
        ]
        if request.get("running"):
            call = request["running"]
            lines.append(f"  running since {call['started_at']}, for {call['elapsed']:.1f}s; "
                         f"times out after {call['timeout']:g}s")
        if request["result"] is not None:
            lines.append(f"  result: {json.dumps(request['result'], ensure_ascii=False)}")
        if request["last_error"]:
            lines.append(f"  last error: {request['last_error'].strip().splitlines()[0]}")
        for attempt in request["history"]:
            lines.append(f"  attempt {attempt['number']}: {attempt['outcome']} at "
                         f"{attempt['started_at']} in {attempt['duration']:.3f}s"
                         + (f": {attempt['error']}" if attempt["error"] else ""))
    return lines


def _act(action: str, job_ids: tuple[int, ...], as_json: bool) -> None:
    """Apply the action to each job in turn; exit 1 if any was refused or unknown."""
    done, refused = [], []
    with database_errors(writes=True):
        for job_id in dict.fromkeys(job_ids):
            try:
                outcome = one_job.perform(db.session(), action, job_id, actor=actor(),
                                             now=clock())
                db.session.commit()
            except (one_job.NoSuchJob, one_job.Refused) as refusal:
                refused.append({"id": job_id, "reason": str(refusal)})
                click.echo(printable(f"job {job_id}: nothing changed: {refusal}"), err=True)
            else:
                done.append({"id": job_id, "message": outcome.message})
                if not as_json:
                    click.echo(outcome.message)
    if as_json:
        _print_json({"done": done, "refused": refused})
    if refused:
        raise SystemExit(1)


def _action_command(action: Action) -> None:
    @jobs_cli.command(action.code, help=f"{action.label}: {action.help} Several ids: one job "
                      "after the other. Each job is recorded in the audit log as cli:USER.")
    @click.argument("job_ids", nargs=-1, required=True, type=JOB_ID, metavar="ID...")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
    def command(job_ids: tuple[int, ...], as_json: bool) -> None:
        _act(action.code, job_ids, as_json)


for _action in ACTIONS.values():
    if _action.code != "delete":  # it asks first: its own command below
        _action_command(_action)


@jobs_cli.command("delete", help=f"Delete: {ACTIONS['delete'].help} Asks first; several "
                  "ids: one job after the other. Recorded in the audit log as cli:USER.")
@click.argument("job_ids", nargs=-1, required=True, type=JOB_ID, metavar="ID...")
@click.option("--yes", is_flag=True, help="Don't ask first (for scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def delete_command(job_ids: tuple[int, ...], yes: bool, as_json: bool) -> None:
    if not yes:
        named = ", ".join(f"#{job_id}" for job_id in dict.fromkeys(job_ids))
        click.confirm(f"Delete job {named} for good, with its requests, payloads and attempt "
                      "history?", abort=True, err=True)
    _act("delete", job_ids, as_json)


@jobs_cli.command("remask")
def remask_command() -> None:
    """Rebuild the search copies of payloads after QUEUE_MASKED_KEYS gained a word."""
    done = 0
    with database_errors(), db.engine.connect() as connection:
        for count in search_copy.refresh(connection, _masker()):
            connection.commit()  # a batch at a time: no long transaction on a big queue
            done += count
    click.echo(f"remask: {done} requests rewritten with the masked keys "
               f"{', '.join(current_app.config['QUEUE_MASKED_KEYS'])}")
