"""A real gunicorn for the tests, with the shipped settings (dashboard/gunicorn_conf.py),
on 127.0.0.1."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT, digest_env


class Gunicorn:
    """``gunicorn -c python:dashboard.gunicorn_conf`` on a free port of 127.0.0.1; ``url``
    once it is up."""

    def __init__(self, db_url: str, log_dir: Path, **settings: Any) -> None:
        env = digest_env(db_url, **settings)
        self.log = log_dir / "gunicorn.err"
        with self.log.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_conf",
                 "--bind", "127.0.0.1:0", "dashboard:create_app()"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                stdin=subprocess.DEVNULL)
        self.url = self._wait_listening()
        wait_healthy(self.url)

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.errors)
            if found:
                return found.group(1)
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"gunicorn did not start:\n{self.errors}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def errors(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def wait_healthy(url: str) -> None:
    """Until ``url``/healthz answers 200 (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
