"""The peers (procrastinate, pgqueuer): their virtualenv, their databases, their workers.

Their code runs in bench/.venv-peers (``peer_*.py``); this side only starts processes and
reads the JSON line each helper prints.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass

from .process import DATABASE_PREFIX, ROOT, environment, run, server_cpu
from .results import Measurement

VENV = ROOT / "bench" / ".venv-peers"
REQUIREMENTS = ROOT / "bench" / "peers-requirements.txt"
BIN = VENV / "bin"
PG = "postgresql://postgres@127.0.0.1:5432/"


def ensure_venv() -> None:
    """Create bench/.venv-peers and install the peers, again when the requirements change."""
    stamp = VENV / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print("bench: installing the peers into bench/.venv-peers (pip) ...", flush=True)
    if not (BIN / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(BIN / "pip"), "install", "-qq", "--disable-pip-version-check",
                    "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted)


def versions() -> dict[str, str]:
    names = ["procrastinate", "pgqueuer", "asyncpg", "psycopg", "matplotlib", "py-spy"]
    code = ("import json, importlib.metadata as m; "
            f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))")
    out = subprocess.run([str(BIN / "python"), "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


@dataclass(frozen=True)
class Peer:
    """One peer worker set-up; ``name`` appears in the tables."""

    name: str
    module: str
    database: str
    worker: tuple[str, ...]
    #: Environment of its helper and worker: how long a task waits, its entrypoint's limit.
    settings: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        return environment(BENCH_PEER_DSN=PG + self.database, **dict(self.settings))

    def helper(self, *args: object) -> dict:
        code = f"import sys; from {self.module} import cli; cli(*sys.argv[1:])"
        done = run([str(BIN / "python"), "-c", code, *map(str, args)], self.env()).check()
        return json.loads(done.output.strip().splitlines()[-1])

    def throughput(self, jobs: int, timeout: float, *, analyze: bool = True) -> Measurement:
        """Jobs/s of one worker process draining ``jobs`` no-op jobs (a cold burst: with
        the statistics of the empty tables, unless ``analyze``)."""
        self.helper("reset")
        self.helper("load" if analyze else "load-cold", jobs)
        server_before = server_cpu("postgresql")
        finished = run(list(self.worker), self.env(), timeout=timeout)
        server = server_cpu("postgresql") - server_before
        window = self.helper("window")
        if finished.returncode != 0 and window["done"] < jobs:
            raise RuntimeError(f"{self.name} worker failed:\n{finished.output[-3000:]}")
        return Measurement(value=window["done"] / window["seconds"] if window["seconds"] else 0,
                           done=window["done"], expected=jobs, seconds=window["seconds"],
                           wall=finished.wall, rss_mb=finished.max_rss_mb, cpu=finished.cpu,
                           server_cpu=server)

    def enqueue(self, jobs: int, batch: int) -> float:
        self.helper("reset")
        if batch == 1:
            return self.helper("enqueue-single", jobs)["per_second"]
        return self.helper("enqueue-bulk", jobs, batch)["per_second"]


PROCRASTINATE = Peer(
    "procrastinate, concurrency 1", "bench.peer_procrastinate", f"{DATABASE_PREFIX}_procrastinate",
    (str(BIN / "procrastinate"), "--app", "bench.peer_procrastinate.app", "--log-level",
     "warning", "worker", "--one-shot", "--concurrency", "1"))
PGQUEUER = Peer(
    "pgqueuer, batch of 10 (default)", "bench.peer_pgqueuer", f"{DATABASE_PREFIX}_pgqueuer",
    (str(BIN / "pgq"), "run", "bench.peer_pgqueuer:main", "--mode", "drain",
     "--log-level", "warning"))
PGQUEUER_BATCH_1 = Peer(
    "pgqueuer, batch of 1", "bench.peer_pgqueuer", f"{DATABASE_PREFIX}_pgqueuer",
    (*PGQUEUER.worker, "--batch-size", "1"))
WORKERS = (PROCRASTINATE, PGQUEUER, PGQUEUER_BATCH_1)
