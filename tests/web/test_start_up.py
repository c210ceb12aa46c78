"""A wrong setting at start: one line naming it and exit code 2, never a traceback, for
the flask commands and gunicorn alike.

Each entry point starts for real once (a flask command, gunicorn, and a flask command
with good settings); every setting's message is checked in this process, through the
same code each entry point runs: flask's command line (click) loading the app, and
dashboard/gunicorn_conf.py as gunicorn reads it.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys

import pytest
from click.testing import CliRunner
from flask.cli import cli as flask_cli

from tests.deploy.image import APP_VARIABLES, ROOT, VENV_BIN

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
GUNICORN = [str(VENV_BIN / "gunicorn"), "-c", "python:dashboard.gunicorn_conf", "--bind",
            "127.0.0.1:0", "dashboard:create_app()"]
#: What gunicorn's settings say before a setting's message.
GUNICORN_PREFIX = "dashboard.gunicorn_conf: "


def environment(tmp_path, **env: str) -> dict[str, str | None]:
    """The process's environment without the dashboard's settings, then ``env``: None
    unsets a variable."""
    ours = {k: None for k in os.environ
            if k in APP_VARIABLES or k.startswith(("QUEUE_", "MAIL_", "DASHBOARD_"))}
    return {**ours, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}",
            **env}


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    """A real process."""
    variables = {k: v for k, v in {**os.environ, **environment(tmp_path, **env)}.items()
                 if v is not None}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=variables)


def flask_here(args: list[str], tmp_path, **env: str) -> tuple[int, str]:
    """``flask --app dashboard ARGS`` in this process: flask's own command line, which
    builds the app as the real command does. Exit code and standard error."""
    result = CliRunner().invoke(
        flask_cli, ["--app", "dashboard", *args],
        env={**environment(tmp_path, **env), "FLASK_RUN_FROM_CLI": None})
    return result.exit_code, result.stderr


def gunicorn_config_here(monkeypatch, capsys, tmp_path, **env: str) -> tuple[int, str]:
    """dashboard/gunicorn_conf.py run in this process, as gunicorn's master reads it
    before any worker starts. Exit code and standard error."""
    for name, value in environment(tmp_path, **env).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(ROOT / "dashboard" / "gunicorn_conf.py"))
    return stopped.value.code, capsys.readouterr().err


def assert_one_line(code: int, stderr: str, expected: str, prefix: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(prefix) and expected in lines[0], lines[0]


@pytest.mark.slow
def test_a_flask_command_says_which_setting_is_wrong_in_one_line(tmp_path):
    (env, expected), = BAD[:1]
    result = run([sys.executable, "-m", "flask", "--app", "dashboard", "digest"], tmp_path,
                 **env)
    assert_one_line(result.returncode, result.stderr, expected, "Error: ")


@pytest.mark.slow
def test_gunicorn_says_which_setting_is_wrong_in_one_line_before_any_worker(tmp_path):
    (env, expected), = BAD[:1]
    result = run(GUNICORN, tmp_path, **env)
    assert_one_line(result.returncode, result.stderr, expected, GUNICORN_PREFIX)
    assert "Booting worker" not in result.stdout + result.stderr


@pytest.mark.slow
def test_good_settings_still_start(tmp_path):
    result = run([sys.executable, "-m", "flask", "--app", "dashboard", "digest"], tmp_path,
                 DASHBOARD_HTTPS_ONLY="yes", SECRET_KEY="k" * 32)
    # No tables yet: the digest's own one-line error, exit 1 (not a setting's error).
    assert result.returncode == 1 and "db upgrade" in result.stderr, result.stderr


#: ``flask --app dashboard routes`` (the whole app made, every page registered), in a
#: process where a password hash stops it.
NO_HASHING = """
import hashlib, sys
def refused(*args, **kwargs):
    raise SystemExit("a password was hashed")
hashlib.scrypt = hashlib.pbkdf2_hmac = refused
from flask.cli import main
sys.argv = ["flask", "--app", "dashboard", "routes"]
main()
"""


@pytest.mark.slow
def test_the_app_starts_without_hashing_a_password(tmp_path):
    # Not until a login: scrypt takes a tenth of a second of CPU, in every process of a
    # host (digests, commands, gunicorn's workers).
    result = run([sys.executable, "-c", NO_HASHING], tmp_path, SECRET_KEY="k" * 32)
    assert result.returncode == 0 and "auth.login" in result.stdout, result.stderr


@pytest.mark.parametrize(("env", "expected"), BAD)
@pytest.mark.parametrize("command", [["digest"], ["db", "upgrade"], ["users", "list"]])
def test_flask_commands_say_which_setting_is_wrong_in_one_line(tmp_path, env, expected,
                                                                 command):
    code, stderr = flask_here(command, tmp_path, **env)
    assert_one_line(code, stderr, expected, "Error: ")


@pytest.mark.parametrize(("env", "expected"), BAD)
def test_gunicorn_config_says_which_setting_is_wrong_in_one_line(monkeypatch, capsys,
                                                                 tmp_path, env, expected):
    code, stderr = gunicorn_config_here(monkeypatch, capsys, tmp_path, **env)
    assert_one_line(code, stderr, expected, GUNICORN_PREFIX)


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
def test_a_bad_schedule_is_refused_at_start_naming_the_entry_and_field(
        monkeypatch, capsys, tmp_path, entry, expected):
    path = tmp_path / "schedule.toml"
    path.write_text(f'[[schedule]]\nname = "nightly"\n{entry}\n')
    env = {"QUEUE_SCHEDULE": str(path), "QUEUE_TYPES": "tests.support.types"}
    assert_one_line(*flask_here(["digest"], tmp_path, **env), expected, "Error: ")
    assert_one_line(*gunicorn_config_here(monkeypatch, capsys, tmp_path, **env), expected,
                    GUNICORN_PREFIX)
