"""Where the no-op digest's CPU goes, per job and by layer: one in-process digest run at
``--concurrency 16`` on 5,000 one-request no-op jobs (PostgreSQL), profiled with yappi's
CPU clock in every thread (py-spy's GIL-only sampling, bench/profile.py, catches too few
samples of a run this short to say it).

    .venv/bin/pip install yappi
    .venv/bin/python -m bench.cpu_profile [--jobs 5000]

The profiler's own cost more than doubles the CPU per job; the shares are what to read.
"""

from __future__ import annotations

import argparse
import collections
import time

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.queue import JobDigest

from .process import DATABASE_PREFIX
from .queue_db import QueueDatabase, server_database

#: (layer, path fragment of a function's module): the first that matches names it.
LAYERS = (
    ("our own code (dashboard/)", "/dashboard/"),
    ("SQLAlchemy Core (build, compile, cache key)", "/sqlalchemy/sql/"),
    ("SQLAlchemy engine (execute, results, types)", "/sqlalchemy/engine/"),
    ("SQLAlchemy, other", "/sqlalchemy/"),
    ("psycopg, its Python side", "/psycopg/"),
    ("threading", "/threading.py"),
    ("logging", "/logging/"),
    ("json", "/json/"),
)
OTHER = "built-ins and C (sockets, the driver's C side, locks), other"


def main(argv: list[str] | None = None) -> None:
    import yappi  # only this tool needs it

    parser = argparse.ArgumentParser(prog="python -m bench.cpu_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    jobs = parser.parse_args(argv).jobs
    database = QueueDatabase("postgresql", server_database(
        "postgresql", f"{DATABASE_PREFIX}_cpu_profile"))
    database.reset()
    database.fill(jobs, 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "SECRET_KEY": "bench",
                      "QUEUE_TYPES": ["bench.noop"]})
    with app.app_context():
        digest = JobDigest(db.session, concurrency=16)
        yappi.set_clock_type("cpu")
        yappi.start(builtins=True)
        started, cpu = time.perf_counter(), time.process_time()
        result = digest.execute(max_jobs=jobs)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        yappi.stop()
    database.dispose()
    stats = list(yappi.get_func_stats())
    print(result.summary())
    print(f"wall {wall:.2f} s, CPU {cpu:.2f} s: {1000 * cpu / jobs:.2f} ms a job, profiled")
    layers: collections.Counter[str] = collections.Counter()
    for stat in stats:
        layer = next((name for name, part in LAYERS if part in stat.module), OTHER)
        layers[layer] += stat.tsub
    total = sum(layers.values())
    print("\n| layer | CPU ms a job | share |\n|---|---|---|")
    for layer, seconds in layers.most_common():
        print(f"| {layer} | {1000 * seconds / jobs:.3f} | {100 * seconds / total:.0f}% |")
    print("\nFunctions by their own CPU:")
    for stat in sorted(stats, key=lambda s: -s.tsub)[:15]:
        print(f"  {1000 * stat.tsub / jobs:.3f} ms a job, {stat.ncall / jobs:5.1f} calls a job: "
              f"{stat.name} ({stat.module.rsplit('site-packages/', 1)[-1]})")


if __name__ == "__main__":
    main()
