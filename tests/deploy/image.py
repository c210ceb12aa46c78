"""The image's files, and its entry point run as a real process on this host.

No Docker engine runs here, so the tests copy the build context (the checkout minus
.dockerignore, from which the image's first stage builds the wheel) to a folder and run
``deploy/entrypoint.sh`` from it, with that folder alone on PYTHONPATH standing in for
the installed wheel (tests/deploy/test_wheel.py installs the wheel itself).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
#: Settings of the app that must not leak in from the shell running the tests.
APP_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "QUEUE_TYPES", "LOG_FORMAT", "LOG_LEVEL",
                 "METRICS_TOKEN", "PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS",
                 "FLASK_APP", "DB_UPGRADE_TRIES", "DB_UPGRADE_INTERVAL")


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "the copy below has no '!' rule"
    return patterns


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax: ``*`` within one path part, ``**/`` any folders (or none)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule: a pattern excludes the path it matches, and all under it."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return any(_regex(pattern).fullmatch(prefix) for prefix in prefixes for pattern in patterns)


def build_context(target: Path) -> Path:
    """Copy what the image's ``COPY . .`` would take into ``target``."""
    patterns = ignore_patterns()
    for folder, dirs, files in os.walk(ROOT):
        relative_folder = os.path.relpath(folder, ROOT)
        for name in files:
            relative = os.path.normpath(os.path.join(relative_folder, name))
            if not ignored(relative, patterns):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder) / name, target / relative)
        dirs[:] = [d for d in dirs
                   if not ignored(os.path.normpath(os.path.join(relative_folder, d)), patterns)]
    (target / "instance").mkdir(exist_ok=True)  # the Dockerfile's RUN mkdir
    return target


def environment(tree: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(tree),
               PYTHONDONTWRITEBYTECODE="1", **variables)
    return env


class Process:
    """A process whose output goes to files (no pipe to fill up), stopped at the end."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, logs: Path) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = logs / "stdout", logs / "stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err,
                                          start_new_session=True)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            assert self.popen.poll() is None, f"exited {self.popen.returncode}:\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.stderr}"
            time.sleep(0.1)

    def wait(self, timeout: float = 60) -> int:
        return self.popen.wait(timeout)

    def stop(self) -> int:
        """SIGTERM, as ``docker stop`` sends it; the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(60)

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def get(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_until_served(process: Process, url: str, timeout: float = 60) -> tuple[int, dict]:
    """The first answer of the server (any status), once it listens."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.popen.poll() is None, (
            f"exited {process.popen.returncode}:\n{process.stderr}")
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, f"not served in {timeout}s:\n{process.stderr}"
            time.sleep(0.2)


def healthcheck_command() -> list[str]:
    """The Dockerfile's HEALTHCHECK command, as Docker would run it."""
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"^HEALTHCHECK [^\n]*\\\n\s+CMD (\[.*\])$", text, re.MULTILINE)
    assert match, "the Dockerfile has a HEALTHCHECK with an exec-form CMD"
    return json.loads(match.group(1))
