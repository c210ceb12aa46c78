"""Our enqueue rounds, each in a process of its own, as the peers' helpers run theirs: a
fresh interpreter makes the app (untimed), then times only the saves. A round run inside
the harness, whose heap has grown through the earlier sections, paid for the collector's
passes over that heap, which the peers' fresh processes do not.

    .venv/bin/python -m bench.enqueue KIND URL single JOBS
    .venv/bin/python -m bench.enqueue KIND URL bulk JOBS BATCH

Prints one JSON line, {"per_second": ...}; the database is emptied by the caller.
"""

from __future__ import annotations

import json
import sys

from dashboard.app.extensions import db

from .queue_db import QueueDatabase


def main(kind: str, url: str, how: str, jobs: str, batch: str = "1") -> None:
    database = QueueDatabase(kind, url)
    with database.app.app_context():
        # The pool's first connection, made before the clock starts, as pgqueuer's helper
        # connects before its own.
        db.engine.connect().close()
    if how == "single":
        per_second = database.enqueue_one_at_a_time(int(jobs))
    elif how == "bulk":
        per_second = database.enqueue_in_bulk(int(jobs), int(batch))
    else:
        raise SystemExit(f"bench.enqueue: single or bulk, not {how!r}")
    print(json.dumps({"per_second": per_second}))


if __name__ == "__main__":
    main(*sys.argv[1:])
