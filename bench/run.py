"""Issue 7's benchmark, in one command: ``bench/run.sh [--quick]`` (see docs/benchmarks.md).

Rounds interleave our digests and the peers' workers, so that the drift of a shared machine
touches both alike; every figure is a median of ``--runs`` rounds, every ratio compares
medians of this run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import sqlalchemy as sa

from dashboard.api.bodies import MAX_BATCH

from . import concurrency, inflight, memory, ours, peers, pickup, profile, report
from .process import DATABASE_PREFIX, ROOT
from .queue_db import QueueDatabase, database_url
from .results import Measurement, Results

RESULTS = ROOT / "bench" / "results" / "latest.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTIONS = ("digest", "cold", "concurrency", "inflight", "enqueue", "pickup", "memory",
            "profile")
PROFILE_RAW = ROOT / "bench" / "results" / "digest-profile.txt"
PROFILE_CPU = ROOT / "bench" / "results" / "digest-profile-gil.txt"


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a smaller run: 1,000 jobs, 10 s cap, 100,000 jobs for memory")
    parser.add_argument("--jobs", type=int, help="jobs per throughput run (default 5,000)")
    parser.add_argument("--runs", type=int, default=3, help="rounds; figures are medians")
    parser.add_argument("--cap", type=float,
                        help="seconds after which a digest takes no new job (default 30)")
    parser.add_argument("--single", type=int, help="jobs enqueued one at a time (default 1,000)")
    parser.add_argument("--batch", type=int, default=1000, help="jobs per bulk enqueue call")
    parser.add_argument("--memory-jobs", type=int, help="due jobs seeded (default 1,000,000)")
    parser.add_argument("--latency-jobs", type=int,
                        help="jobs of 50 ms requests in the latency row (default 1,600)")
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only this section (repeatable)")
    parser.add_argument("--no-docs", action="store_true",
                        help="don't write docs/benchmarks.md and its plot")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {"jobs": (1000, 5000), "cap": (10.0, 30.0), "single": (200, 1000),
                "memory_jobs": (100_000, 1_000_000), "latency_jobs": (400, 1600)}
    for name, (small, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    args.sections = args.only or list(SECTIONS)
    if min(args.jobs, args.runs, args.single, args.batch, args.memory_jobs,
           args.latency_jobs) < 1:
        parser.error("--jobs, --runs, --single, --batch, --memory-jobs and --latency-jobs "
                     "must be at least 1")
    if args.cap <= 0:
        parser.error("--cap must be a positive number of seconds")
    return args


def say(text: str) -> None:
    print(f"bench: {text}", flush=True)


def record(results: Results, key: str, measured: Measurement, unit: str) -> None:
    results.add(key, measured)
    extra = f" ({measured.done:,}/{measured.expected:,} in {measured.seconds:.2f}s)" \
        if measured.expected and measured.seconds else ""
    say(f"{key}: {measured.value:,.0f} {unit}{extra}")


def digest_rounds(args, results: Results, databases: dict[str, QueueDatabase]) -> None:
    for round_number in range(1, args.runs + 1):
        say(f"round {round_number}/{args.runs}")
        record(results, "probe/postgresql/commits",
               ours.commit_ceiling(databases["postgresql"].url), "commits/s")
        for scenario in ours.SCENARIOS:
            record(results, scenario.key, ours.digest_throughput(
                databases[scenario.kind], scenario, args.jobs, args.cap), scenario.unit)
        for peer in peers.WORKERS:
            record(results, report.peer_key(peer),
                   peer.throughput(args.jobs, timeout=args.cap + 300), "jobs/s")


def cold_rounds(args, results: Results, databases: dict[str, QueueDatabase]) -> None:
    """The no-op digest on a fresh burst, with no ANALYZE since the jobs arrived (issue
    11): ours and the peers', beside the analyzed figures of ``digest_rounds``."""
    scenario = ours.SCENARIOS[0]  # PostgreSQL, 1-request jobs, 1 digest
    for round_number in range(1, args.runs + 1):
        say(f"cold burst, round {round_number}/{args.runs}")
        record(results, "cold/postgresql/ours", ours.digest_throughput(
            databases["postgresql"], scenario, args.jobs, args.cap, analyze=False), "jobs/s")
        for peer in peers.WORKERS:
            record(results, f"cold/{report.peer_key(peer)}",
                   peer.throughput(args.jobs, timeout=args.cap + 300, analyze=False), "jobs/s")


def concurrency_rounds(args, results: Results, database: QueueDatabase) -> None:
    """Issue 11's rows (bench/concurrency.py), rounds interleaved as in digest_rounds."""
    for round_number in range(1, args.runs + 1):
        say(f"concurrency round {round_number}/{args.runs}")
        concurrency.latency_round(results, database, args.latency_jobs, args.cap, record)
        concurrency.noop_round(results, database, args.jobs, args.cap, record)


def inflight_rounds(args, results: Results) -> None:
    """Issue 24's rows (bench/inflight.py): many in flight, the fleet, no-op beside
    pgqueuer, each printed as it comes."""
    jobs, noop_jobs = 4000 if not args.quick else 800, args.jobs
    for round_number in range(1, args.runs + 1):
        say(f"in flight round {round_number}/{args.runs}")
        for row in inflight.rows(jobs, noop_jobs):
            results.add(inflight.key(row.key),
                        row.measurement(noop_jobs if row.key.startswith("noop") else jobs))


def enqueue_rounds(args, results: Results, database: QueueDatabase) -> None:
    for _ in range(args.runs):
        record(results, "enqueue/ours/single", ours.enqueue_one_at_a_time(database, args.single),
               "jobs/s")
        record(results, "enqueue/ours/bulk",
               ours.enqueue_in_bulk(database, args.jobs, args.batch), "jobs/s")
        for name, peer in (("procrastinate", peers.PROCRASTINATE), ("pgqueuer", peers.PGQUEUER)):
            record(results, f"enqueue/{name}/single",
                   Measurement(peer.enqueue(args.single, 1)), "jobs/s")
            record(results, f"enqueue/{name}/bulk",
                   Measurement(peer.enqueue(args.jobs, args.batch)), "jobs/s")
        record(results, "enqueue/ours/http", ours.enqueue_over_http(database, args.single),
               "jobs/s")
        record(results, "enqueue/ours/http-batch",
               ours.enqueue_batches_over_http(database, args.jobs, min(args.batch, MAX_BATCH)),
               "jobs/s")


def pickup_rounds(args, results: Results, databases: dict[str, QueueDatabase]) -> None:
    """Issue 24's pickup latency (bench/pickup.py): ours on each database, then pgqueuer's."""
    for round_number in range(1, args.runs + 1):
        say(f"pickup round {round_number}/{args.runs}")
        pickup.pickup_round(results, databases, record, poll=round_number == 1)


def memory_section(args, results: Results, database: QueueDatabase) -> None:
    database.reset()
    record(results, "memory/digest/empty", memory.digest_peak_rss(database, 1000, 30), "MB")
    say(f"seeding {args.memory_jobs:,} due jobs by bulk SQL ...")
    results.meta["memory_seed_seconds"] = memory.seed(database, args.memory_jobs)
    record(results, "memory/digest/backlog",
           memory.digest_peak_rss(database, results.meta["memory_max_jobs"], 60), "MB")
    database.reset()


def profile_section(args, database: QueueDatabase) -> str:
    say(f"profiling one digest on {args.jobs:,} jobs under py-spy ...")
    PROFILE_RAW.parent.mkdir(parents=True, exist_ok=True)
    rate = profile.sample(database, args.jobs, PROFILE_RAW)
    say("again, sampling only while the digest holds the GIL (its CPU) ...")
    cpu_rate = profile.sample(database, args.jobs, PROFILE_CPU, cpu=True)
    say("counting statements per job ...")
    per_job, trips = profile.census(database, min(args.jobs, 1000))
    return profile.markdown(profile.read_raw(PROFILE_RAW), profile.read_raw(PROFILE_CPU),
                            args.jobs, (rate, cpu_rate), per_job, trips)


def describe(args, argv: list[str], databases: dict[str, QueueDatabase]) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                     if line.startswith("MemTotal"))
    servers = []
    for kind in ("postgresql", "mariadb"):
        if kind in databases:
            with databases[kind].app.app_context():
                from dashboard.app.extensions import db

                with db.engine.connect() as connection:
                    text = connection.scalar(sa.text("SELECT version()"))
                    if kind == "postgresql":
                        text = " ".join(text.split()[:2]) + ", fsync " + connection.scalar(
                            sa.text("SHOW fsync")) + ", synchronous_commit " + \
                            connection.scalar(sa.text("SHOW synchronous_commit"))
                    else:
                        text = "MariaDB " + text + ", innodb_flush_log_at_trx_commit " + str(
                            connection.scalar(sa.text("SELECT @@innodb_flush_log_at_trx_commit")))
            servers.append(text)
    servers.append(f"SQLite {sqlite3.sqlite_version} (WAL, synchronous NORMAL)")
    ours_versions = {n: version(n) for n in ("flask", "sqlalchemy", "psycopg", "pymysql")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {
        "command": "bench/run.sh " + shlex.join(argv) if argv else "bench/run.sh",
        "settings": f"{args.jobs:,} jobs per run, {args.runs} rounds, digest cap {args.cap:.0f} s,"
                    f" {args.single:,} single enqueues, bulk batches of {args.batch:,}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024 / 1024:.0f} GiB, "
                   f"{platform.platform()}",
        "load_start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "databases": "; ".join(servers),
        "versions": f"Python {platform.python_version()}, "
                    + ", ".join(f"{k} {v}" for k, v in ours_versions.items()) + ", "
                    + ", ".join(f"{k} {v}" for k, v in peers.versions().items()),
        "jobs": args.jobs, "batch": args.batch, "memory_jobs": args.memory_jobs,
        "memory_max_jobs": 1000,
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = options(argv)
    peers.ensure_venv()
    for peer in (peers.PROCRASTINATE, peers.PGQUEUER):
        peer.helper("setup")
    workdir = Path(tempfile.mkdtemp(prefix="aq-bench-"))
    try:
        databases = {kind: QueueDatabase(kind, database_url(kind, f"{DATABASE_PREFIX}_digest",
                                                            workdir))
                     for kind in ("postgresql", "sqlite", "mariadb")}
        databases["memory"] = QueueDatabase(
            "postgresql", database_url("postgresql", f"{DATABASE_PREFIX}_memory", workdir))
    except sa.exc.OperationalError as error:
        raise SystemExit(f"bench: a database server is not reachable: "
                         f"{str(error.orig).strip().splitlines()[0]}\n(PostgreSQL on "
                         "127.0.0.1:5432 and MariaDB on 127.0.0.1:3306 are needed)") from None
    results = Results(meta=describe(args, argv, databases))
    say(results.meta["settings"])
    profiled = None
    try:
        if "digest" in args.sections:
            digest_rounds(args, results, databases)
        if "cold" in args.sections:
            cold_rounds(args, results, databases)
        if "concurrency" in args.sections:
            concurrency_rounds(args, results, databases["postgresql"])
        if "inflight" in args.sections:
            inflight_rounds(args, results)
        if "enqueue" in args.sections:
            enqueue_rounds(args, results, databases["postgresql"])
        if "pickup" in args.sections:
            pickup_rounds(args, results, databases)
        if "memory" in args.sections:
            memory_section(args, results, databases["memory"])
        if "profile" in args.sections:
            profiled = profile_section(args, databases["postgresql"])
    finally:
        results.meta["load_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        results.save(RESULTS)
        for database in databases.values():
            database.dispose()
    text = report.markdown(results) if results.runs else ""
    print("\n" + text + "\n" + (profiled or ""))
    if args.no_docs:
        return
    if profiled:
        report.write_docs(DOCS, profiled, "profile")
    if results.runs:
        report.write_docs(DOCS, text)
        subprocess.run([str(peers.BIN / "python"), "-m", "bench.plot", str(RESULTS),
                        str(DOCS.parent / report.PLOT)], cwd=ROOT, check=True)
        say(f"wrote {DOCS.relative_to(ROOT)} and {report.PLOT}")


if __name__ == "__main__":
    main()
