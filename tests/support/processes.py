"""Real digest processes for the tests: start ``python -m dashboard digest`` (the same
digest as ``flask --app dashboard digest``, without the plugins Flask's command line
loads first: tests/cli/test_lean_digest.py runs both), signal it, wait for it, read what
it printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TYPES = "tests.support.concurrency_types"


def digest_env(url: str, **settings: Any) -> dict[str, str]:
    """The environment of a digest on ``url``; ``settings`` are QUEUE_* variables etc."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("QUEUE_", "FLASK_", "DATABASE_URL", "LOG_"))}
    env.update(DATABASE_URL=url, QUEUE_TYPES=TYPES, PYTHONUNBUFFERED="1",
               SECRET_KEY="processes-of-the-tests-" + "k" * 32,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
               # Standard error then holds only what went wrong (and signal notices).
               LOG_LEVEL="WARNING",
               # A digest that overstays its wait is sent SIGABRT first: every thread's
               # stack then goes to standard error, for the failure to show where it hung.
               PYTHONFAULTHANDLER="1")
    env.update({name: str(value) for name, value in settings.items()})
    return env


class DigestProcess:
    """One ``python -m dashboard digest`` subprocess; its output goes to files, so it never
    blocks."""

    def __init__(self, args: list[str], env: dict[str, str], log_dir: Path, name: str) -> None:
        self.name = name
        self.out_path = log_dir / f"{name}.out"
        self.err_path = log_dir / f"{name}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "dashboard", "digest", *args],
                cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    @property
    def last_error_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    def send(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        """The exit code; a digest still running after ``timeout`` is killed and fails the test."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.send_signal(signal.SIGABRT)  # its threads' stacks, to standard error
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
            raise AssertionError(f"{self.name} still ran after {timeout}s\n{self.output}") from None

    @property
    def output(self) -> str:
        return f"--- {self.name} stdout\n{self.stdout}--- {self.name} stderr\n{self.stderr}"


class Digests:
    """Starts digests on one database; kills those still running when the test ends."""

    def __init__(self, url: str, log_dir: Path, **settings: Any) -> None:
        self.url = url
        self.log_dir = log_dir
        self.settings = settings
        self.started: list[DigestProcess] = []

    def start(self, *args: str, name: str | None = None, url: str | None = None,
              **settings: Any) -> DigestProcess:
        name = name or f"digest-{len(self.started) + 1}"
        env = digest_env(url or self.url, **{**self.settings, **settings})
        process = DigestProcess(list(args), env, self.log_dir, name)
        self.started.append(process)
        return process

    def run(self, *args: str, timeout: float = 60, **kwargs: Any) -> DigestProcess:
        """Start a digest and wait for it to exit."""
        process = self.start(*args, **kwargs)
        process.wait(timeout)
        return process

    def close(self) -> None:
        for process in self.started:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()


def wait_until(condition: Callable[[], Any], *, timeout: float = 30, what: str = "") -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)
