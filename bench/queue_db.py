"""The project's side of a benchmark database: create, migrate, empty, fill, read back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.db import Base
from dashboard.queue import Attempt, DigestRun, Job, JobBuilder, JobRepository, JobState

from .noop import TYPE_CODE

ADMIN_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}
CHUNK = 1000


def server_database(kind: str, name: str) -> str:
    """The URL of database ``name`` on the PostgreSQL or MariaDB server, created if missing."""
    admin = sa.make_url(ADMIN_URLS[kind])
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if kind == "postgresql":
                if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                         {"n": name}):
                    connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                connection.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_bin")
    finally:
        engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def database_url(kind: str, name: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    return server_database(kind, name)


def new_job(number: int, requests: int):
    job = JobBuilder().create()
    for step in range(requests):
        job.request_builder().set_type_code(TYPE_CODE).set_payload(
            {"n": number, "step": step}).create()
    return job


@dataclass
class Window:
    """What digests did, read back from the database's own timestamps."""

    jobs: int
    requests: int
    #: From the first digest run's start to the last request's completion.
    seconds: float

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class QueueDatabase:
    """One database of the queue (``kind``: sqlite, postgresql, mariadb), migrated."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.app: Flask = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        from flask_migrate import upgrade

        with self.app.app_context():
            upgrade()

    def reset(self) -> None:
        """Empty every table of the queue, and restart its ids."""
        tables = [table.name for table in Base.metadata.sorted_tables]
        with self.app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                if self.kind == "postgresql":
                    connection.exec_driver_sql(
                        f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                elif self.kind == "mariadb":
                    connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                    for name in tables:
                        connection.exec_driver_sql(f"TRUNCATE TABLE {name}")
                    connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
                else:
                    # No AUTOINCREMENT: ids start again at 1 once a table is empty.
                    for name in reversed(tables):
                        connection.exec_driver_sql(f"DELETE FROM {name}")

    def fill(self, jobs: int, requests: int = 1, *, analyze: bool = True) -> None:
        """Enqueue ``jobs`` jobs of ``requests`` no-op requests, through save_many; then
        analyze, unless the run is of a cold burst (statistics of the empty tables)."""
        with self.app.app_context():
            if not analyze:
                self.analyze()
            for start in range(0, jobs, CHUNK):
                JobRepository().save_many(
                    new_job(n, requests) for n in range(start, min(jobs, start + CHUNK)))
            if analyze:
                self.analyze()

    def analyze(self) -> None:
        """Fresh planner statistics, as autovacuum would have them on a live queue."""
        if self.kind == "sqlite":
            return
        with db.engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                connection.exec_driver_sql(
                    f"ANALYZE {'TABLE ' if self.kind == 'mariadb' else ''}{table.name}")

    def window(self) -> Window:
        with self.app.app_context():
            started = db.session.scalar(sa.select(sa.func.min(DigestRun.started_at)))
            requests, last = db.session.execute(
                sa.select(sa.func.count(), sa.func.max(Attempt.finished_at))
                .where(Attempt.outcome == "succeeded")).one()
            jobs = db.session.scalar(
                sa.select(sa.func.count()).where(Job.state == JobState.COMPLETED))
            db.session.rollback()
        if started is None or last is None:
            return Window(0, 0, 0.0)
        return Window(jobs, requests, (last - started).total_seconds())

    def enqueue_one_at_a_time(self, jobs: int) -> float:
        """Jobs/s of ``JobRepository().save(job)``, one job per call (building included)."""
        with self.app.app_context():
            started = time.perf_counter()
            for number in range(jobs):
                JobRepository().save(new_job(number, 1))
            return jobs / (time.perf_counter() - started)

    def enqueue_in_bulk(self, jobs: int, batch: int) -> float:
        """Jobs/s of ``JobRepository().save_many(jobs)``, ``batch`` jobs per call."""
        with self.app.app_context():
            started = time.perf_counter()
            for start in range(0, jobs, batch):
                JobRepository().save_many(
                    new_job(n, 1) for n in range(start, min(jobs, start + batch)))
            return jobs / (time.perf_counter() - started)

    def dispose(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
