"""What a hostile API body costs the server: ``python -m bench.hostile_bodies``.

Prints the CPU time one worker spends refusing each body (in process, on a SQLite
queue), then starts the shipped gunicorn configuration (2 workers) and sends 32 of the
1 MB body at once, three rounds, timing /healthz meanwhile and reading the workers'
largest resident memory. No database but a temporary SQLite file is touched.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from dashboard import create_app
from dashboard.api import tokens
from dashboard.app.extensions import db
from tests.support import hostile
from tests.support.schema import reset_schema
from tests.support.servers import Gunicorn


def bodies() -> dict[str, bytes]:
    def batch(payload: str, type_code: str = "nope") -> bytes:
        return ('{"jobs": [{"requests": [{"type_code": "' + type_code + '", "payload": '
                + payload + "}]}]}").encode()
    return {
        "333,300 empty lists (finding 3)": hostile.HOSTILE,
        "99,990 empty lists": batch("[" + ",".join(["[]"] * 99_990) + "]"),
        "99,990 strings": batch("[" + ",".join(['"ab"'] * 99_990) + "]"),
        "500,000 levels deep": batch("[" * 500_000 + "]" * 500_000),
    }


def cpu_per_refusal(folder: Path, repeat: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'queue.db'}",
                      "SECRET_KEY": "bench-" + "k" * 40, "TESTING": True,
                      "API_RATE_LIMIT": "off", "QUEUE_TYPES": ["tests.support.types"]})
    reset_schema(app)
    with app.app_context():
        _, secret = tokens.create(db.session, "bench", "operator", now=datetime.now(UTC))
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    print(f"CPU seconds per refusal, in process (median of {repeat}):")
    for name, body in bodies().items():
        seconds, status = [], 0
        for _ in range(repeat):
            started = time.process_time()
            status = client.post("/api/v1/jobs/batch", data=body, headers=headers).status_code
            seconds.append(time.process_time() - started)
        print(f"  {name:34} {len(body):>9,} bytes  {status}  "
              f"{statistics.median(seconds):.3f} s")


def under_load(folder: Path, clients: int, rounds: int) -> None:
    url = f"sqlite:///{folder / 'served.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "k" * 40})
    reset_schema(app)
    with app.app_context():
        _, secret = tokens.create(db.session, "bench", "operator", now=datetime.now(UTC))
        db.session.commit()
    server = Gunicorn(url, folder, WEB_CONCURRENCY=2,
                      API_RATE_LIMIT_STORAGE=f"sqlitefile://{folder / 'rate-limits.db'}")
    try:
        started = time.monotonic()
        load = hostile.run(server.url, secret, server.popen.pid, clients=clients,
                           rounds=rounds)
        took = time.monotonic() - started
    finally:
        server.stop()
    print(f"gunicorn, 2 workers: {clients} clients x {rounds} rounds of the 1 MB body "
          f"in {took:.1f} s")
    print(f"  answers: {dict(load.statuses)}")
    print(f"  /healthz: {len(load.healthz)} asked, median {statistics.median(load.healthz):.3f}"
          f" s, slowest {max(load.healthz):.3f} s")
    print(f"  largest worker RSS (VmHWM): {load.peak_rss / 2**20:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cpu_per_refusal(Path(folder), args.repeat)
        under_load(Path(folder), args.clients, args.rounds)


if __name__ == "__main__":
    main()
