"""The package as a user installs it: the sdist and the wheel built from it, the wheel
installed in a new virtualenv, and the app run from an empty folder (real processes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.image import APP_VARIABLES, ROOT, Process, wait_until_served
from tests.support.network import free_port

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"


def _run(args: list, **options) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=600, **options)
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """Built once a session: the sdist, the wheel made from it, a new virtualenv with the
    wheel and the extras a PostgreSQL server needs (not mail, metrics nor MariaDB)."""
    folder = tmp_path_factory.mktemp("package")
    _run([sys.executable, "-m", "build", "--outdir", folder / "dist", ROOT])
    (wheel,), (sdist,) = (folder / "dist").glob("*.whl"), (folder / "dist").glob("*.tar.gz")
    venv = folder / "venv"
    # Installed by this pip (--python): no pip made in the venv for it.
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    # The lock's versions (as CI's), and two extras of five: the others are missing.
    _run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
          "--quiet", "-c", ROOT / "requirements" / "test.txt",
          f"{wheel}[server,postgresql]"])
    return Installed(wheel, sdist, venv)


def _package_files() -> set[str]:
    """Every file of the package's folder in this checkout (compiled files aside)."""
    found = set()
    for folder, dirs, files in os.walk(ROOT / "dashboard"):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.update(str((Path(folder) / name).relative_to(ROOT)) for name in files
                     if not name.endswith(".pyc"))
    return found


def test_the_wheel_and_the_sdist_hold_the_whole_package(installed):
    """Templates, static files, migrations and gunicorn's settings included."""
    in_wheel = {name for name in zipfile.ZipFile(installed.wheel).namelist()
                if name.startswith("dashboard/")}
    assert in_wheel == _package_files()
    for needed in ("dashboard/templates/auth/login.html", "dashboard/static/dashboard.css",
                   "dashboard/migrations/env.py", "dashboard/migrations/alembic.ini",
                   "dashboard/migrations/versions/0001_queue_core.py",
                   "dashboard/gunicorn_conf.py",
                   # The queue core's parts, each a subpackage.
                   *(f"dashboard/queue/{part}/__init__.py"
                     for part in ("jobs", "database", "store", "operations", "digest"))):
        assert needed in in_wheel, needed
    with tarfile.open(installed.sdist) as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert _package_files() <= in_sdist
    assert {"LICENSE", "CHANGELOG.md", "pyproject.toml"} <= in_sdist


def test_the_wheels_metadata(installed):
    """The version from dashboard.__version__, the license, and the console script."""
    import dashboard

    with zipfile.ZipFile(installed.wheel) as wheel:
        info = installed.wheel.name.split("-")[:2]
        metadata = wheel.read(f"{'-'.join(info)}.dist-info/METADATA").decode()
        scripts = wheel.read(f"{'-'.join(info)}.dist-info/entry_points.txt").decode()
    assert f"\nVersion: {dashboard.__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "\nProject-URL: Changelog, " in metadata
    assert "asyncqueue = dashboard.__main__:main" in scripts


def _environment(installed: Installed, **variables: str) -> dict[str, str]:
    """A user's shell: the venv's commands first, no setting of ours, no checkout on the
    path."""
    env = {k: v for k, v in os.environ.items()
           if k not in APP_VARIABLES and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{installed.bin}{os.pathsep}{env.get('PATH', '')}",
               QUEUE_TYPES="dashboard.queue.demo", **variables)
    return env


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_upgrade_digest_and_serve_from_an_empty_folder(installed, tmp_path, request, database):
    folder = tmp_path / "empty"
    folder.mkdir()
    variables = {}
    if database == "postgresql":
        url = request.getfixturevalue("fresh_postgresql")
        variables["DATABASE_URL"] = url.render_as_string(hide_password=False)
    env = _environment(installed, **variables)

    def run(*args: str) -> str:
        result = _run(list(args), cwd=folder, env=env)
        return result.stdout + result.stderr

    # The installed package, not this checkout.
    where = run("python", "-c", "import dashboard; print(dashboard.__file__)")
    assert where.strip().startswith(str(installed.venv))
    # The three ways to the same commands.
    upgrade = run("asyncqueue", "db", "upgrade")
    assert "Running upgrade  -> 0001" in upgrade
    assert "setup plugin" not in upgrade  # alembic's chatter about itself
    assert "enqueued job 1" in run("flask", "--app", "dashboard", "enqueue",
                                   "demo_customer_sync", "--payload", '{"customer_id": 7}')
    assert "digest: 1 jobs run, 1 requests succeeded, 0 failed" in run(
        "python", "-m", "dashboard", "digest")
    if database == "sqlite":
        # The working folder's instance/, never the package's folder or the venv.
        assert (folder / "instance" / "asyncqueue.db").is_file()
        assert not list(installed.venv.rglob("*.db"))
        assert not list(installed.venv.rglob("secret_key"))

    port = free_port()
    server = Process(["gunicorn", "-c", "python:dashboard.gunicorn_conf", "--bind",
                      f"127.0.0.1:{port}", "dashboard:create_app()"],
                     {**env, "WEB_CONCURRENCY": "1"}, cwd=folder, logs=tmp_path / "gunicorn")
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until_served(server, f"{base}/healthz")[0] == 200
        status, kind, page = _get(f"{base}/login")
        assert (status, kind) == (200, "text/html; charset=utf-8")
        css = re.search(rb'href="(/static/dashboard\.[0-9a-f]{12}\.css)"', page).group(1)
        status, kind, body = _get(base + css.decode())
        assert (status, kind) == (200, "text/css; charset=utf-8")
        assert body == (ROOT / "dashboard" / "static" / "dashboard.css").read_bytes()
        assert server.stop() == 0
    finally:
        server.kill()


@pytest.mark.parametrize(("setting", "value", "extra"), [
    ("DATABASE_URL", "mysql+pymysql://root@127.0.0.1/queue", "mariadb"),
    ("METRICS_TOKEN", "scrape-token", "metrics"),
    ("QUEUE_ALERT_TO", "ops@example.com", "mail"),
])
def test_a_setting_that_needs_a_missing_extra_names_it(installed, tmp_path, setting, value,
                                                       extra):
    env = _environment(installed, **{setting: value, "MAIL_DEFAULT_SENDER": "q@example.com",
                                     "DASHBOARD_URL": "https://queue.example.com"})
    result = subprocess.run([installed.bin / "asyncqueue", "digest"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"pip install 'asyncqueue-dashboard[{extra}]'" in result.stderr
    assert setting in result.stderr and "Traceback" not in result.stderr


def test_the_queue_core_imports_without_the_web(installed, tmp_path):
    result = _run([installed.bin / "python", "-c",
                   "import sys, dashboard.queue; print('flask' in sys.modules)"],
                  cwd=tmp_path, env=_environment(installed))
    assert result.stdout.strip() == "False"
