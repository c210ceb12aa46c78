"""The project's side: digest throughput, enqueue rates and the commit ceiling."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from .process import Running, environment, server_cpu
from .queue_db import QueueDatabase
from .results import Measurement


@dataclass(frozen=True)
class DigestScenario:
    key: str
    label: str
    kind: str
    requests: int = 1
    processes: int = 1

    @property
    def unit(self) -> str:
        return "requests/s" if self.requests > 1 else "jobs/s"


SCENARIOS = (
    DigestScenario("digest/postgresql/1req/1proc", "PostgreSQL, 1-request jobs, 1 digest",
                   "postgresql"),
    DigestScenario("digest/postgresql/3req/1proc", "PostgreSQL, 3-request jobs, 1 digest",
                   "postgresql", requests=3),
    DigestScenario("digest/postgresql/1req/2proc", "PostgreSQL, 1-request jobs, 2 digests",
                   "postgresql", processes=2),
    DigestScenario("digest/sqlite/1req/1proc", "SQLite (WAL), 1-request jobs, 1 digest",
                   "sqlite"),
    DigestScenario("digest/mariadb/1req/1proc", "MariaDB, 1-request jobs, 1 digest", "mariadb"),
)


def digest_command(jobs: int, cap: float, concurrency: int | None = None) -> list[str]:
    at_once = [] if concurrency is None else ["--concurrency", str(concurrency)]
    return [sys.executable, "-m", "flask", "--app", "dashboard", "digest",
            "--max-jobs", str(jobs), "--max-seconds", str(cap), *at_once]


def digest_env(url: str, **extra: str) -> dict[str, str]:
    return environment(DATABASE_URL=url, QUEUE_TYPES="bench.noop", **extra)


def digest_throughput(database: QueueDatabase, scenario: DigestScenario, jobs: int,
                      cap: float, concurrency: int | None = None,
                      request_seconds: float = 0, *, analyze: bool = True) -> Measurement:
    """``scenario.processes`` digests on ``jobs`` due jobs, started together.

    Each runs ``flask --app dashboard digest --max-jobs N --max-seconds CAP``: it stops when
    no job is due any more, or takes no new job after CAP seconds. The rate is read from
    the database: first digest run's start to the last request's completion.
    ``concurrency``: its ``--concurrency`` (default: QUEUE_CONCURRENCY's); each request
    waits ``request_seconds``.
    """
    database.reset()
    database.fill(jobs, scenario.requests, analyze=analyze)
    command = digest_command(jobs, cap, concurrency)
    env = digest_env(database.url, BENCH_REQUEST_SECONDS=str(request_seconds))
    server_before = server_cpu(database.kind)
    started = [Running(command, env) for _ in range(scenario.processes)]
    finished = [process.finish(timeout=cap + 300) for process in started]
    server = server_cpu(database.kind) - server_before
    for process in finished:
        process.check()
    window = database.window()
    value = window.requests_per_second if scenario.requests > 1 else window.jobs_per_second
    return Measurement(value=value, done=window.jobs, expected=jobs, seconds=window.seconds,
                       wall=max(p.wall for p in finished),
                       rss_mb=max(p.max_rss_mb for p in finished),
                       cpu=sum(p.cpu for p in finished), server_cpu=server)


def enqueue_one_at_a_time(database: QueueDatabase, jobs: int) -> Measurement:
    """``JobRepository().save(job)``, one job per call, in a process of its own."""
    return _enqueue(database, jobs, "single", str(jobs))


def enqueue_in_bulk(database: QueueDatabase, jobs: int, batch: int) -> Measurement:
    """``JobRepository().save_many(jobs)``, ``batch`` jobs per call, in a process of its own."""
    return _enqueue(database, jobs, "bulk", str(jobs), str(batch))


def _enqueue(database: QueueDatabase, jobs: int, *args: str) -> Measurement:
    # A fresh process, as the peers' helpers are (bench/enqueue.py says why).
    database.reset()
    command = [sys.executable, "-m", "bench.enqueue", database.kind, database.url, *args]
    finished = Running(command, environment()).finish(timeout=600).check()
    [answer] = [line for line in finished.output.splitlines() if line.startswith('{"per_second"')]
    per_second = json.loads(answer)["per_second"]
    return Measurement(value=per_second, done=jobs, expected=jobs)


def commit_ceiling(url: str, seconds: float = 1.5) -> Measurement:
    """Commits/s of one INSERT per commit on one connection: what fsync allows right now."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (n integer)")
        connection.commit()
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            connection.execute("INSERT INTO bench_commit_probe VALUES (%s)", (count,))
            connection.commit()
            count += 1
        elapsed = time.perf_counter() - started
        connection.execute("DROP TABLE bench_commit_probe")
        connection.commit()
    return Measurement(value=count / elapsed, done=count, seconds=elapsed)


@contextmanager
def _api_client(database: QueueDatabase) -> Iterator[tuple[http.client.HTTPConnection, str]]:
    """A keep-alive connection to gunicorn as shipped (dashboard/gunicorn_conf.py: 2
    workers of 16 threads, access log on) on 127.0.0.1 serving the emptied database, and
    an enqueue token for it."""
    database.reset()
    # The rate limit per token (600 a minute by default) is a policy, not a cost: off, or
    # it would be what the figure measures.
    env = digest_env(database.url, API_RATE_LIMIT="off")
    token = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "dashboard", "tokens", "create", "bench",
         "--role", "enqueue", "--replace"],
        env=env, check=True, capture_output=True, text=True).stdout.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Running([sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_conf",
                      "--bind", f"127.0.0.1:{port}", "dashboard:create_app()"], env)
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for _ in range(100):  # wait until it answers
            try:
                client.request("GET", "/healthz")
                client.getresponse().read()
                break
            except OSError:
                client.close()
                time.sleep(0.1)
        yield client, token
    finally:
        client.close()
        os.killpg(server._proc.pid, signal.SIGTERM)
        server.finish(timeout=30)


def _post(client: http.client.HTTPConnection, token: str, path: str, body: object) -> None:
    client.request("POST", path, json.dumps(body),
                   {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = client.getresponse()
    response.read()
    if response.status != 201:
        raise RuntimeError(f"POST {path} answered {response.status}")


def _new_job(number: int) -> dict:
    return {"requests": [{"type_code": "bench_noop", "payload": {"n": number}}]}


def enqueue_over_http(database: QueueDatabase, jobs: int) -> Measurement:
    """Jobs/s of ``POST /api/v1/jobs``, one job per request on one keep-alive connection."""
    with _api_client(database) as (client, token):
        started = time.perf_counter()
        for number in range(jobs):
            _post(client, token, "/api/v1/jobs", _new_job(number))
        elapsed = time.perf_counter() - started
    return Measurement(value=jobs / elapsed, done=jobs, expected=jobs, seconds=elapsed)


def enqueue_batches_over_http(database: QueueDatabase, jobs: int, batch: int) -> Measurement:
    """Jobs/s of ``POST /api/v1/jobs/batch``, ``batch`` jobs per request (the client's
    JSON encoding included), on one keep-alive connection."""
    with _api_client(database) as (client, token):
        started = time.perf_counter()
        for start in range(0, jobs, batch):
            _post(client, token, "/api/v1/jobs/batch",
                  {"jobs": [_new_job(n) for n in range(start, min(jobs, start + batch))]})
        elapsed = time.perf_counter() - started
    return Measurement(value=jobs / elapsed, done=jobs, expected=jobs, seconds=elapsed)
