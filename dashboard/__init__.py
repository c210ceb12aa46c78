"""AsyncQueue Dashboard: a job queue of ordered requests with an operator dashboard."""

from __future__ import annotations

#: The one source of the version: the build reads it (pyproject.toml), and so do users.
__version__ = "0.1.0"

import functools
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import queue
from .app import config
from .queue.database.engine_setup import engine_options, prepare_engine

if TYPE_CHECKING:
    from flask import Flask

#: The package's folder: its templates/, static/ and migrations/ live in it, so that they
#: ship inside the wheel and are found wherever it is installed.
PACKAGE = Path(__file__).resolve().parent


def create_app(test_config: dict[str, Any] | None = None, *,
               digest_only: bool | None = None) -> Flask:
    """The app factory: defaults, then the environment, then ``test_config``.

    ``digest_only``: the app of a digest process, which leaves out the pages, the API and
    ``flask db`` (None: when this process is ``flask ... digest``, see runs_the_digest)."""
    # Imported here, as flaskr does, so that importing the queue core (which loads this
    # package first) loads neither Flask nor the pages.
    from flask import Flask

    from . import alerts, cli
    from .app import files, logs
    from .app.extensions import db

    if digest_only is None:
        digest_only = test_config is None and runs_the_digest(sys.argv)

    app = Flask(
        __name__,
        instance_path=config.instance_folder(),
        instance_relative_config=True,
        template_folder=str(PACKAGE / "templates"),
        static_folder=str(PACKAGE / "static"),
    )
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
        if "SQLALCHEMY_DATABASE_URI" in test_config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config.database_url(
                test_config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(
            app.config["SQLALCHEMY_DATABASE_URI"],
            connections=app.config["QUEUE_DB_CONNECTIONS"]))
    files.private_folder(app.instance_path)
    files.private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    logs.init_app(app)
    db.init_app(app)
    with app.app_context():
        prepare_engine(db.engine)
    alerts.init_app(app)
    config.import_types(app.config["QUEUE_TYPES"])
    queue.load_types()  # and the installed packages' entry points
    # After the types: the schedule (QUEUE_SCHEDULE) names them.
    app.extensions["queue"] = queue.QueueSetup(session=db.session, settings=queue_settings(
        app.config, run_listeners=(alerts.after_digest_run(app),)))
    queue.jobs.settings.add_finder(app_queue_setup)
    cli.init_app(app, digest_only=digest_only)
    if not digest_only:
        _migrations_pages_and_api(app)
    _set_aside_what_lives_on()
    return app


def _migrations_pages_and_api(app: Flask) -> None:
    """``flask db``, and what serves pages and the API: none of it is loaded by a digest
    process."""
    from . import api, auth, web
    from .app import health, input_checks, metrics, transactions
    from .app.extensions import csrf, db, migrate

    migrate.init_app(app, db, directory=str(PACKAGE / "migrations"), render_as_batch=True)
    transactions.init_app(app)
    input_checks.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    web.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    api.init_app(app)


#: ``flask``'s own options that take a value (``flask --app dashboard digest``).
_FLASK_OPTIONS_WITH_VALUES = ("--app", "-A", "--env-file", "-e")


def runs_the_digest(argv: list[str]) -> bool:
    """Whether this process is ``flask [--app dashboard] digest ...`` (also through
    ``python -m flask``): then it loads the queue, settings, logs and alerts, and not what
    serves pages and the API. A test's or a server's app loads everything."""
    program = Path(argv[0])
    if program.name != "flask" and (program.name, program.parent.name) != ("__main__.py",
                                                                          "flask"):
        return False
    args = argv[1:]
    at = 0
    while at < len(args) and args[at].startswith("-"):
        takes_value = args[at] in _FLASK_OPTIONS_WITH_VALUES
        at += 2 if takes_value else 1
    return at < len(args) and args[at] == "digest"


def _set_aside_what_lives_on() -> None:
    """Once a process, after its first app is built: the modules and that app live as long
    as the process, so ``gc.freeze()`` takes them out of the collector's sight. A full
    collection, which the objects of a batch of jobs set off every few batches, then no
    longer walks some 130,000 of them (70 ms each time on 2 cores: a third of a 1,000-job
    ``save_many``, see docs/benchmarks.md)."""
    if gc.get_freeze_count():
        return
    gc.collect()  # what is garbage already is freed, not kept for good
    gc.freeze()


def app_queue_setup() -> queue.QueueSetup | None:
    """The queue setup of the Flask app whose context this runs in, if any (for the core:
    see queue.jobs.settings.current)."""
    current_app, has_app_context = _flask_context()
    return current_app.extensions.get("queue") if has_app_context() else None


@functools.cache
def _flask_context() -> tuple[Any, Callable[[], bool]]:
    # Imported on first use, not with the package (see create_app), and once: each job
    # built asks for its setup.
    from flask import current_app, has_app_context

    return current_app, has_app_context


def queue_settings(cfg: dict[str, Any], run_listeners: tuple = ()) -> queue.QueueSettings:
    return queue.QueueSettings(
        retry=queue.RetryStrategy(
            max_attempts=cfg["QUEUE_MAX_ATTEMPTS"], delay=cfg["QUEUE_RETRY_DELAY"]
        ),
        max_jobs_per_run=cfg["QUEUE_MAX_JOBS_PER_RUN"],
        lease_seconds=cfg["QUEUE_LEASE_SECONDS"],
        limit_wait=cfg["QUEUE_LIMIT_WAIT"],
        concurrency=cfg["QUEUE_CONCURRENCY"],
        db_connections=cfg["QUEUE_DB_CONNECTIONS"],
        db_wait_seconds=cfg["QUEUE_DB_WAIT_SECONDS"],
        request_timeout=cfg["QUEUE_REQUEST_TIMEOUT"],
        clock_skew_warn=cfg["QUEUE_CLOCK_SKEW_WARN"],
        run_listeners=run_listeners,
        masked_keys=tuple(cfg["QUEUE_MASKED_KEYS"]),
        schedule=config.schedule_entries(cfg["QUEUE_SCHEDULE"]),
    )
