"""The queue's commands: ``flask --app dashboard digest`` and ``enqueue``."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from flask.cli import with_appcontext

from ..app.extensions import db
from ..queue import Job, JobBuilder, JobDigest, JobRepository, JobState, NotRunnable
from ..queue.digest.worker import LoopWorker, end_leases_of_gone
from ..queue.jobs import scheduling
from ..queue.jobs.settings import clock
from ..queue.operations import retention
from .common import JOB_ID, database_errors

T = TypeVar("T")


@contextmanager
def stop_on_signals(digest: JobDigest) -> Iterator[None]:
    """SIGTERM and SIGINT finish the requests running, give back the claimed jobs, exit 0;
    a second one stops at once (the calls running are abandoned, see JobDigest.stop)."""
    def handler(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if digest.stopped:
            click.echo(f"digest: {name} received again, stopping at once", err=True)
        else:
            click.echo(f"digest: {name} received, stopping after the requests running "
                       "(send it again to stop at once)", err=True)
        digest.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.command("digest")
@click.option("--max-jobs", type=click.IntRange(min=1), help="Run at most N jobs.")
@click.option("--max-seconds", type=click.FloatRange(min=0),
              help="Stop taking new jobs after S seconds.")
@click.option("--concurrency", type=click.IntRange(min=1),
              help="Run up to N jobs at once, each in a thread (default: QUEUE_CONCURRENCY).")
@click.option("--job", "job_id", type=JOB_ID, help="Run only this job, now.")
@click.option("--loop", is_flag=True, help="Keep running, as a long-lived worker.")
@click.option("--interval", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="With --loop: seconds between runs at most, when no new job wakes it "
                   "sooner.")
@with_appcontext
def digest_command(max_jobs: int | None, max_seconds: float | None, concurrency: int | None,
                   job_id: int | None, loop: bool, interval: float) -> None:
    """Process due jobs and print what was done."""
    if job_id is not None and loop:
        raise click.UsageError("--job and --loop can't be used together")
    with database_errors():
        try:
            digest = JobDigest(db.session(), concurrency=concurrency, resident=loop)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        with stop_on_signals(digest):
            if job_id is None:
                end_leases_of_gone(digest)
            if job_id is not None:
                job = db.session.get(Job, job_id)
                if job is None:
                    raise click.ClickException(f"job {job_id} does not exist")
                try:
                    result = digest.set_job(job).execute()
                except NotRunnable as refusal:
                    raise click.ClickException(str(refusal)) from None
                click.echo(f"digest: {result.summary()}")
                return
            if loop:
                LoopWorker(digest, interval=interval, max_jobs=max_jobs,
                           max_seconds=max_seconds, echo=click.echo).run()
                return
            result = digest.execute(max_jobs=max_jobs, max_seconds=max_seconds)
            click.echo(f"digest: {result.summary()}")


def _checked(check: Callable[[Any], T]) -> Callable[..., T | None]:
    """A click callback around one of the core's checks, for an option that may be left
    out: its ValueError is a usage error that names the option (exit code 2)."""
    def callback(ctx: click.Context, param: click.Parameter, value: object) -> T | None:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
    return callback


@click.command("enqueue")
@click.argument("type_code")
@click.option("--payload", required=True, help="The request's payload, as JSON.")
@click.option("--relation-id", help="The object the job acts on, e.g. a customer id.")
@click.option("--store-id", type=int)
@click.option("--source-id", default="default", show_default=True)
@click.option("--run-at", callback=_checked(scheduling.parse_run_at),
              help="Not before this time: RFC 3339 with an offset, e.g. 2026-03-01T09:30:00Z.")
@click.option("--delay", type=float, callback=_checked(scheduling.validate_delay),
              help="Not before this many seconds from now.")
@click.option("--unique-key", callback=_checked(scheduling.validate_unique_key),
              help="Enqueue nothing while an active job has this key.")
@click.option("--priority", type=int, default=0, show_default=True,
              callback=_checked(scheduling.validate_priority),
              help="-100 to 100: due jobs run higher first.")
@with_appcontext
def enqueue_command(type_code: str, payload: str, relation_id: str | None,
                    store_id: int | None, source_id: str, run_at: datetime | None,
                    delay: float | None, unique_key: str | None, priority: int) -> None:
    """Enqueue a job of one request."""
    try:
        data = json.loads(payload)
    except ValueError as error:  # also a number past int()'s 4,300 digits
        raise click.BadParameter(f"not valid JSON: {error}", param_hint="--payload") from None
    if run_at is not None and delay is not None:
        raise click.UsageError("give --run-at or --delay, not both")
    try:
        job = (JobBuilder().set_relation_id(relation_id).set_store_id(store_id)
               .set_source_id(source_id).set_priority(priority).set_run_at(run_at)
               .set_delay(delay).set_unique_key(unique_key).create())
        job.request_builder().set_type_code(type_code).set_payload(data).create()
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    with database_errors():
        JobRepository(db.session()).save(job)
        if job.duplicate:
            click.echo(f"job {job.id} holds the unique key {unique_key!r}: nothing enqueued")
        elif job.next_attempt_at is not None and job.next_attempt_at > job.created_at:
            click.echo(f"enqueued job {job.id}, to run at "
                       f"{job.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC at the earliest")
        else:
            click.echo(f"enqueued job {job.id}")


@click.command("demo-seed")
@click.option("--jobs", "count", default=24, show_default=True, type=click.IntRange(min=1))
@with_appcontext
def demo_seed_command(count: int) -> None:
    """Enqueue demo jobs (the digest runs them with QUEUE_TYPES=dashboard.queue.demo)."""
    from ..queue.demo import demo_jobs

    with database_errors():
        JobRepository(db.session()).save_many(demo_jobs(count))
    click.echo(f"enqueued {count} demo jobs")


def _parsed(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, str], T]:
    """A click callback around one of the core's parsers: its ValueError is a usage error."""
    def callback(ctx: click.Context, param: click.Parameter, value: str) -> T:
        try:
            return parse(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
    return callback


@click.command("prune")
@click.option("--older-than", required=True, callback=_parsed(retention.parse_age),
              help="Delete jobs finished longer ago than this: 30d, 12h, 90m, 2w.")
@click.option("--state", "states", default=",".join(retention.DEFAULT_STATES),
              show_default=True, callback=_parsed(retention.parse_states),
              help="Comma-separated states to delete (failed jobs only when named).")
@click.option("--dry-run", is_flag=True, help="Say how many jobs would go; delete nothing.")
@with_appcontext
def prune_command(older_than: timedelta, states: tuple[JobState, ...], dry_run: bool) -> None:
    """Delete finished jobs (with their requests and attempts) older than --older-than."""
    now = clock()
    with database_errors():
        result = retention.prune(db.session(), older_than=older_than, now=now, states=states,
                                 dry_run=dry_run)
    cutoff = (now - older_than).isoformat(timespec="seconds")
    what = (f"{result.jobs} {' or '.join(states)} jobs ({result.requests} requests, "
            f"{result.attempts} attempts) finished before {cutoff}")
    click.echo(f"prune: would delete {what}" if dry_run else f"prune: deleted {what}")
