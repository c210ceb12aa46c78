"""Where the digest's time goes: py-spy samples of one digest process, and a census of
what it asks the database per job.

``bench/run.sh --only profile`` (py-spy comes from bench/.venv-peers). The samples are
sorted twice: by the digest's step (claim, read, mark running, run, record, release) and
by layer (waiting for the server, COMMIT, pre-ping, SQLAlchemy, psycopg, our code).
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event

from dashboard.app.extensions import db
from dashboard.queue import JobDigest

from .ours import digest_command, digest_env
from .peers import BIN
from .process import run
from .queue_db import QueueDatabase

#: (step, pattern in the stack): the first one that matches names the sample's step.
STEPS = (
    ("claim jobs and read their requests (_claim)", "JobDigest._claim ("),
    ("give jobs back (release)", "release (queue/store/claims.py"),
    ("run the request type (_invoke)", "._invoke (queue/digest/running.py"),
    ("write an outcome, start the next request (_step)", "._step (queue/digest/running.py"),
    ("digest run bookkeeping", "JobDigest._record_run_"),
    ("take back expired jobs", "JobDigest._recover_expired ("),
    ("digest loop, other", "JobDigest.execute ("),
    ("digest threads, other", "_serve (queue/digest/inflight.py"),
)
STARTUP = "start-up (interpreter, imports, create_app, CLI)"
HEARTBEAT = "lease heartbeat thread"
#: (layer, pattern): the first pattern found in the stack names the sample's layer. The
#: driver's C code blocks while the server works (psycopg's send and poll): those samples
#: are round trips; on a loaded machine the send itself waits for the woken server.
LAYERS = (
    ("pool checkout + pre-ping round trip", re.compile(r"do_ping|\(sqlalchemy/pool/")),
    ("COMMIT round trip (WAL flush on the server)", re.compile(r"do_commit")),
    ("BEGIN round trip (psycopg opens each transaction)", re.compile(r"_start_query")),
    ("statement round trips (send, wait for the server)", re.compile(r"Cursor\.execute \(psyco")),
    ("SQLAlchemy Core: build, cache key, compile", re.compile(r"\(sqlalchemy/sql/")),
    ("SQLAlchemy ORM session", re.compile(r"\(sqlalchemy/orm/")),
    ("SQLAlchemy engine: execute, results, types", re.compile(r"\(sqlalchemy/")),
    ("logging", re.compile(r"\(logging/")),
    ("our own code (dashboard/)", re.compile(r"\(dashboard/")),
)
#: Python layers are named by the innermost frame only (every stack passes through them).
LEAF_ONLY = {"SQLAlchemy Core: build, cache key, compile", "SQLAlchemy ORM session",
             "SQLAlchemy engine: execute, results, types", "logging", "our own code (dashboard/)"}


@dataclass
class Profile:
    samples: int = 0
    steps: collections.Counter = field(default_factory=collections.Counter)
    layers: collections.Counter = field(default_factory=collections.Counter)
    digest_samples: int = 0
    #: Heartbeat samples that renewed leases (the others sleep between beats).
    heartbeat_busy: int = 0


def step_of(stack: str) -> str:
    if "_Heartbeat._run" in stack:
        return HEARTBEAT
    for name, pattern in STEPS:
        if pattern in stack:
            return name
    return STARTUP


def layer_of(frames: list[str]) -> str:
    leaf = frames[-1]
    for name, pattern in LAYERS:
        if name in LEAF_ONLY:
            if pattern.search(leaf):
                return name
        elif any(pattern.search(frame) for frame in frames):
            return name
    return "other Python (stdlib, JSON, enum ...)"


def read_raw(path: Path) -> Profile:
    """Sort py-spy's collapsed stacks ("frame;frame;... count")."""
    profile = Profile()
    # A frame's name may hold line breaks (the text of a statement): a sample ends at the
    # first line that ends with its count.
    pending = ""
    for line in path.read_text().splitlines():
        pending += line
        stack, _, count = pending.rpartition(" ")
        if not count.isdigit():
            pending += "\n"
            continue
        pending = ""
        if not stack:
            continue
        n = int(count)
        step = step_of(stack)
        profile.samples += n
        profile.steps[step] += n
        if step == HEARTBEAT and "renew (queue/store/claims.py" in stack:
            profile.heartbeat_busy += n
        if step not in (STARTUP, HEARTBEAT):
            profile.digest_samples += n
            profile.layers[layer_of(stack.split(";"))] += n
    return profile


def sample(database: QueueDatabase, jobs: int, out: Path, *, cpu: bool = False,
           rate: int = 100) -> float:
    """Run one digest on ``jobs`` due jobs under py-spy: every sample, waiting included
    (wall clock), or with ``cpu`` only those holding the GIL (Python's own CPU time)."""
    database.reset()
    database.fill(jobs, 1)
    command = [str(BIN / "py-spy"), "record", "--gil" if cpu else "--idle", "--nonblocking",
               "--rate", str(rate), "--format", "raw", "--output", str(out), "--",
               *digest_command(jobs, 600)]
    run(command, digest_env(database.url), timeout=900).check()
    window = database.window()
    return window.jobs_per_second


def census(database: QueueDatabase, jobs: int) -> tuple[dict[str, float], float]:
    """Statements, transactions and connection checkouts per job, in-process."""
    counts: collections.Counter = collections.Counter()

    def on_statement(conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.split()[0].upper()
        if verb == "WITH":  # one statement of CTEs (PostgreSQL): named by its parts
            counts["WITH " + ", ".join(re.findall(r"(\w+) AS \s*\(", statement))] += 1
            return
        # A SELECT's own table is its last FROM (subqueries come first, in its columns).
        pattern = {"SELECT": r"FROM (\w+)", "UPDATE": r"UPDATE (\w+)",
                   "INSERT": r"INSERT INTO (\w+)", "DELETE": r"DELETE FROM (\w+)"}.get(verb)
        tables = re.findall(pattern, statement) if pattern else []
        if verb == "SELECT" and "FOR UPDATE" in statement:
            verb = "SELECT ... FOR UPDATE"
        counts[f"{verb} {tables[-1] if tables else ''}".strip()] += 1

    database.reset()
    database.fill(jobs, 1)
    with database.app.app_context():
        engine = db.engine
        def on_transaction(name: str):
            def count(conn) -> None:
                # In autocommit (a statement that is its own transaction) nothing is sent.
                if not conn.connection.driver_connection.autocommit:
                    counts[name] += 1
            return count

        listeners = [(engine, "before_cursor_execute", on_statement),
                     (engine, "begin", on_transaction("BEGIN")),
                     (engine, "commit", on_transaction("COMMIT")),
                     (engine, "rollback", on_transaction("ROLLBACK")),
                     (engine.pool, "checkout", lambda *a: counts.update(
                         ["pool checkout (pre-ping)"]))]
        for target, name, fn in listeners:
            event.listen(target, name, fn)
        try:
            result = JobDigest(db.session).execute(max_jobs=jobs)
        finally:
            for target, name, fn in listeners:
                event.remove(target, name, fn)
            db.session.remove()
    per_job = {key: value / result.jobs for key, value in sorted(counts.items())}
    return per_job, sum(per_job.values())


def share(counter: collections.Counter, key: str, total: int) -> str:
    return f"{100 * counter[key] / total:.1f}%" if total else "—"


def markdown(wall: Profile, cpu: Profile, jobs: int, rates: tuple[float, float],
             per_job: dict[str, float], trips: float) -> str:
    lines = [
        "### Profile of the last run", "",
        f"One `flask --app dashboard digest` on {jobs:,} one-request no-op jobs (PostgreSQL) "
        f"under `py-spy record --nonblocking`, twice: `--idle` (wall clock, waiting counts: "
        f"{rates[0]:,.0f} jobs/s under the profiler, {wall.digest_samples:,} samples in the "
        f"digest loop) and `--gil` (only samples holding the GIL, i.e. Python's own CPU: "
        f"{rates[1]:,.0f} jobs/s, {cpu.digest_samples:,} samples).", "",
        "| step of the digest | wall clock | CPU (GIL held) |", "|---|---|---|"]
    for step, _ in wall.steps.most_common():
        if step not in (STARTUP, HEARTBEAT):
            lines.append(f"| {step} | {share(wall.steps, step, wall.digest_samples)} | "
                         f"{share(cpu.steps, step, cpu.digest_samples)} |")
    lines += ["", "| layer | wall clock | CPU (GIL held) |", "|---|---|---|"]
    for layer, _ in (wall.layers + cpu.layers).most_common():
        lines.append(f"| {layer} | {share(wall.layers, layer, wall.digest_samples)} | "
                     f"{share(cpu.layers, layer, cpu.digest_samples)} |")
    lines += ["", f"Outside the loop (wall clock): {STARTUP}: {wall.steps[STARTUP]:,} "
              f"samples; {HEARTBEAT}: {wall.steps[HEARTBEAT]:,} samples, "
              f"{wall.heartbeat_busy:,} of them renewing leases (it sleeps a third of a "
              "lease, 100 s by default, between beats).", "",
              f"What the digest asks the database, per job (in-process census: "
              f"{trips:.1f} round trips a job):", "", "| statement | per job |", "|---|---|"]
    for key, value in per_job.items():
        lines.append(f"| {key} | {value:.2f} |")
    return "\n".join(lines) + "\n"
