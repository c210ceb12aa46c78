"""A real gunicorn serving the dashboard on 127.0.0.1, and a real headless Chromium.

SQLite only: these tests check what the browser sees and does (htmx swaps, the CSP,
escaping, confirmation steps), which does not depend on the database; the same views
and queries run on PostgreSQL and MariaDB in tests/web and tests/integration. One
server serves the whole module, so each test works on jobs of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.browser import seed
from tests.support.browser import log_in
from tests.support.servers import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    env: dict[str, str]
    jobs: dict[str, int] = field(default_factory=dict)


def _gunicorn(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "2",
             "--timeout", "60", "dashboard:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")


@contextmanager
def _serve(folder: Path, **settings: str) -> Iterator[Server]:
    """The seeded dashboard on a database of its own in ``folder``, with ``settings``."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'queue.db'}",
           "SECRET_KEY": "browser-tests-" + "k" * 32, "QUEUE_TYPES": "tests.support.types",
           "DASHBOARD_POLL_SECONDS": "1", "PYTHONPATH": str(ROOT), **settings}
    jobs = seed.seed(env, now=datetime.now(UTC))
    process, url = _gunicorn(env, folder / "gunicorn.log")
    try:
        wait_healthy(url)
        yield Server(url, env, jobs)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    with _serve(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def scheduled_server(tmp_path_factory) -> Iterator[Server]:
    """A dashboard of its own with a recurring schedule (QUEUE_SCHEDULE): its switches
    change what the other tests' server would show."""
    folder = tmp_path_factory.mktemp("scheduled")
    (folder / "schedule.toml").write_text(SCHEDULE)
    with _serve(folder, QUEUE_SCHEDULE=str(folder / "schedule.toml")) as served:
        yield served


SCHEDULE = """
[[schedule]]
name = "every-two-minutes"
cron = "*/2 * * * *"
requests = [{type_code = "test_echo", payload = {"from" = "schedule"}}]

[[schedule]]
name = "nightly"
cron = "0 3 * * *"
requests = [{type_code = "test_echo", payload = {"from" = "nightly"}}]
"""


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A logged-in operator's tab; fails the test on any CSP violation or page error."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text)
           if m.type == "error" and "Content Security Policy" in m.text else None)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    log_in(tab, server.url, seed.OPERATOR)
    yield tab
    context.close()
    assert problems == []
