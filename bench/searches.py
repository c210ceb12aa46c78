"""What a text search costs on a large queue: ``python -m bench.searches [--url URL]``.

Seeds 100,000 jobs (``--jobs``) into an empty database of its own (by default
``aq_search_bench`` on the PostgreSQL of ``TEST_POSTGRES_URL``, dropped afterwards), then
times ``GET /api/v1/jobs?q=...`` in process for the searches that have no trigram (each
refused now), a search an index finds, and one that reads every row (answered, or stopped
at DASHBOARD_SEARCH_TIMEOUT_MS). Prints the status and the median of ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from dashboard import create_app
from dashboard.api import tokens
from dashboard.app.extensions import db
from tests.support import databases
from tests.support.schema import reset_schema
from tests.support.search_seed import NO_TRIGRAM, seed

SEARCHES = [*NO_TRIGRAM, "cust-99999", "cust-x"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an empty database to fill (default: PostgreSQL)")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.url or databases.server_url("postgresql", "aq_search_bench")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "k" * 40,
                      "API_RATE_LIMIT": "off", "QUEUE_TYPES": ["tests.support.types"]})
    reset_schema(app)
    with app.app_context():
        with db.engine.begin() as connection:
            seed(connection, args.jobs)
        _, secret = tokens.create(db.session, "bench", "viewer", now=datetime.now(UTC))
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    print(f"{sa.make_url(url).get_backend_name()}, {args.jobs:,} jobs; "
          f"GET /api/v1/jobs?q=..., median of {args.repeat}:")
    for q in SEARCHES:
        seconds, status = [], 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            status = client.get("/api/v1/jobs", query_string={"q": q},
                                headers=headers).status_code
            seconds.append(time.perf_counter() - started)
        shown = q if len(q) < 12 else f"{q[:3]}... ({len(q)} characters)"
        print(f"  q={shown!r:32} {status}  {statistics.median(seconds) * 1000:8.1f} ms")
    with app.app_context():
        reset_schema(app)  # leaves the schema, without the rows
        db.engine.dispose()


if __name__ == "__main__":
    main()
