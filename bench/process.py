"""Running a benchmark process and reading what it cost: wall time and peak RSS."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The first part of every database the benchmark makes (``aq_bench_digest``, ...): two
#: runs on one server at once need prefixes of their own, or each empties the other's.
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "aq_bench")
if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", DATABASE_PREFIX):
    raise SystemExit("bench: BENCH_DATABASE_PREFIX must be lower-case letters, digits and _, "
                     f"starting with a letter, got {DATABASE_PREFIX!r}")


@dataclass
class Finished:
    command: list[str]
    returncode: int
    #: Spawn to exit, as the parent saw it (includes the interpreter's start-up).
    wall: float
    #: The child's peak resident set size: its VmHWM, read until it exits. (Not ru_maxrss:
    #: Linux counts in it the RSS of the parent it was forked from, here the harness.)
    max_rss_mb: float
    output: str
    #: User + system CPU seconds of the child (not of the database server).
    cpu: float = 0.0

    def check(self) -> Finished:
        if self.returncode != 0:
            raise RuntimeError(
                f"{' '.join(self.command)} exited {self.returncode}:\n{self.output[-3000:]}")
        return self


class Running:
    """A started process; ``finish()`` waits for it (killing it after ``timeout``)."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.command = command
        self._log = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self._proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def send(self, sig: signal.Signals) -> None:
        self._proc.send_signal(sig)

    def finish(self, timeout: float) -> Finished:
        deadline = self.started + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(self._proc.pid))
            pid, status, usage = os.wait4(self._proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(self._proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(self._proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - self.started
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        self._log.seek(0)
        output = self._log.read().decode(errors="replace")
        self._log.close()
        if time.monotonic() > deadline:
            output += f"\n[killed after {timeout:.0f}s]"
        return Finished(self.command, self._proc.returncode, wall, peak_kb / 1024, output,
                        usage.ru_utime + usage.ru_stime)


def _high_water_kb(pid: int) -> int:
    """VmHWM of a live process, in KiB (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> Finished:
    return Running(command, env).finish(timeout)


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


#: The names of the database servers' processes, as /proc/<pid>/comm gives them.
SERVER_PROCESSES = {"postgresql": ("postgres",), "mariadb": ("mariadbd", "mysqld")}


def server_cpu(kind: str) -> float:
    """CPU seconds (user + system) the database server on this host has used so far: every
    process of it, its background writers included. A PostgreSQL backend that exits counts
    on through its parent's children's times. 0.0 for SQLite (it runs in the client)."""
    names = SERVER_PROCESSES.get(kind, ())
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")) if names else ():
        try:
            if not Path(f"/proc/{pid}/comm").read_text().strip().startswith(names):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")
