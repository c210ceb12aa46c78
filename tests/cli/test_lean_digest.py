"""A digest process loads the queue core and what it needs (settings, logs, alerts), not
what serves pages and the API: ``python -m dashboard digest`` and ``flask --app dashboard
digest`` build a lean app."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dashboard import runs_the_digest
from tests.support.processes import ROOT, digest_env

#: Never in a digest process (nor their submodules).
NOT_LOADED = ("dashboard.web", "dashboard.api", "dashboard.auth", "dashboard.cli.jobs",
              "flask_limiter", "flask_compress", "flask_wtf", "flask_login", "flask_migrate",
              "alembic", "pydantic", "prometheus_client")
#: What it runs on.
LOADED = ("dashboard.queue.digest.job_digest", "dashboard.queue.digest.worker", "dashboard.alerts",
          "dashboard.app.config", "dashboard.app.logs", "flask_sqlalchemy")


def loaded_modules(*command: str, url: str) -> set[str]:
    """The modules a real process imported, as ``-X importtime`` lists them."""
    done = subprocess.run([sys.executable, "-X", "importtime", *command], cwd=ROOT,
                          env=digest_env(url), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return {match[1] for match in re.finditer(r"^import time:.*\|\s*(\S+)$", done.stderr, re.M)}


def under(loaded: set[str], packages: tuple[str, ...]) -> set[str]:
    return {name for name in loaded if name.startswith(tuple(p + "." for p in packages))
            or name in packages}


#: What Flask's command line loads before any app, whatever the command: every installed
#: ``flask.commands`` plugin, here Flask-Limiter's ``limiter`` command.
FLASK_PLUGINS = ("flask_limiter",)


def test_a_digest_process_loads_neither_the_pages_nor_the_api(app, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("what a process imports is the same on every database but its driver")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    digest = loaded_modules("-m", "dashboard", "digest", url=url)
    assert under(digest, NOT_LOADED) == set()
    assert set(LOADED) <= digest
    through_flask = loaded_modules("-m", "flask", "--app", "dashboard", "digest", url=url)
    assert under(through_flask, NOT_LOADED) == under(through_flask, FLASK_PLUGINS) != set()
    assert set(LOADED) <= through_flask
    # The same app built for anything else loads them all: the test can tell.
    other = loaded_modules("-m", "flask", "--app", "dashboard", "db", "current", url=url)
    assert {"dashboard.web", "dashboard.api", "flask_compress", "flask_migrate"} <= other


@pytest.mark.parametrize(("argv", "digest"), [
    (["/venv/bin/flask", "--app", "dashboard", "digest", "--loop"], True),
    (["/venv/bin/flask", "--app=dashboard", "--debug", "digest"], True),
    (["/venv/bin/flask", "digest"], True),  # FLASK_APP in the environment
    (["/usr/lib/python3/site-packages/flask/__main__.py", "-A", "dashboard", "digest"], True),
    (["/venv/bin/flask", "--app", "dashboard", "jobs", "run", "7"], False),
    (["/venv/bin/flask", "--app", "digest", "run"], False),  # an app named digest
    (["/venv/bin/gunicorn", "digest"], False),
    (["/venv/lib/pytest/__main__.py", "-k", "digest"], False),
])
def test_only_the_digest_command_of_flask_is_a_digest_process(argv, digest):
    assert runs_the_digest(argv) is digest
