"""A wrong setting at start: one line naming it and exit code 2, never a traceback, for
the flask commands and gunicorn alike (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.deploy.image import APP_VARIABLES, ROOT, VENV_BIN

pytestmark = pytest.mark.slow

#: A setting that is wrong -> the line that must name it.
BAD = [
    ({"QUEUE_ALERT_TO": "not-an-address"}, "QUEUE_ALERT_TO: 'not-an-address' is not an email"),
    ({"DASHBOARD_HTTPS_ONLY": "maybe"}, "DASHBOARD_HTTPS_ONLY must be true or false"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY is 5 characters long; it must have at least 32"),
    ({"QUEUE_TYPES": "no.such.module"}, "QUEUE_TYPES: can't import 'no.such.module'"),
    ({"DATABASE_URL": "nosuchdb://x/y"}, "DATABASE_URL is not a database URL"),
    ({"QUEUE_LEASE_SECONDS": "nan"}, "QUEUE_LEASE_SECONDS must be a finite number"),
    ({"QUEUE_SCHEDULE": "/no/such/schedule.toml"},
     "QUEUE_SCHEDULE /no/such/schedule.toml: can't read it"),
]


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in APP_VARIABLES and not k.startswith(("QUEUE_", "MAIL_", "DASHBOARD_"))}
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**clean, "PYTHONPATH": str(ROOT),
             "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", **env})


def assert_one_line(result: subprocess.CompletedProcess, expected: str, prefix: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix) and expected in lines[0], lines[0]


@pytest.mark.parametrize(("env", "expected"), BAD)
@pytest.mark.parametrize("command", [["digest"], ["db", "upgrade"], ["users", "list"]])
def test_flask_commands_say_which_setting_is_wrong_in_one_line(tmp_path, env, expected,
                                                                 command):
    result = run([sys.executable, "-m", "flask", "--app", "dashboard", *command], tmp_path,
                 **env)
    assert_one_line(result, expected, "Error: ")


@pytest.mark.parametrize(("env", "expected"), BAD)
def test_gunicorn_says_which_setting_is_wrong_in_one_line_before_any_worker(tmp_path, env,
                                                                             expected):
    result = run([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind",
                  "127.0.0.1:0", "dashboard:create_app()"], tmp_path, **env)
    assert_one_line(result, expected, "gunicorn.conf.py: ")
    assert "Booting worker" not in result.stdout + result.stderr


def test_good_settings_still_start(tmp_path):
    result = run([sys.executable, "-m", "flask", "--app", "dashboard", "digest"], tmp_path,
                 DASHBOARD_HTTPS_ONLY="yes", SECRET_KEY="k" * 32)
    # No tables yet: the digest's own one-line error, exit 1 (not a setting's error).
    assert result.returncode == 1 and "db upgrade" in result.stderr, result.stderr


@pytest.mark.parametrize(("entry", "expected"), [
    ('cron = "0 3 * *"\nrequests = [{type_code = "test_echo", payload = {}}]',
     "schedule entry 1 ('nightly'): cron: '0 3 * *' is not a cron expression"),
    ('cron = "0 3 * * *"\nrequests = [{type_code = "reconcile", payload = {}}]',
     "schedule entry 1 ('nightly'): requests[0].type_code: unknown request type 'reconcile'"),
    ('cron = "0 0 31 2 *"\nrequests = [{type_code = "test_echo", payload = {}}]',
     "schedule entry 1 ('nightly'): cron: '0 0 31 2 *' names no time to run within 5 years"),
    ('cron = "* * * * * *"\nrequests = [{type_code = "test_echo", payload = {}}]',
     "schedule entry 1 ('nightly'): cron: '* * * * * *' is not a cron expression of 5 fields"),
])
def test_a_bad_schedule_is_refused_at_start_naming_the_entry_and_field(tmp_path, entry,
                                                                       expected):
    path = tmp_path / "schedule.toml"
    path.write_text(f'[[schedule]]\nname = "nightly"\n{entry}\n')
    env = {"QUEUE_SCHEDULE": str(path), "QUEUE_TYPES": "tests.support.types"}
    result = run([sys.executable, "-m", "flask", "--app", "dashboard", "digest"], tmp_path, **env)
    assert_one_line(result, expected, "Error: ")
    result = run([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind",
                  "127.0.0.1:0", "dashboard:create_app()"], tmp_path, **env)
    assert_one_line(result, expected, "gunicorn.conf.py: ")
