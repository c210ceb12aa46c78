"""Issue 11's rows: several requests in flight in one process (see docs/benchmarks.md).

- **Latency**: jobs whose one request waits 50 ms, as a call to a remote API would, run by
  one process with 16 in flight: our digest at ``--concurrency 16``, procrastinate's
  worker at ``--concurrency 16``, pgqueuer's at ``--batch-size 16`` with its entrypoint's
  ``concurrency_limit=16``; and the ceiling, 16 / 0.05 s = 320 jobs/s.
- **No-op throughput** of our digest at concurrency 1, 4 and 16 (PostgreSQL, one process).
- **Peak RSS** of our digest at concurrency 16 (in the latency row's run).
"""

from __future__ import annotations

from .ours import DigestScenario, digest_throughput
from .peers import BIN, PGQUEUER, PROCRASTINATE, Peer
from .queue_db import QueueDatabase
from .results import Measurement, Results

WAIT = 0.05
AT_ONCE = 16
CEILING = AT_ONCE / WAIT
NOOP_CONCURRENCIES = (1, 4, 16)
LATENCY_KEY = "latency/ours"
CEILING_KEY = "latency/ceiling"
RSS_KEY = "memory/digest/concurrency16"

_SLOW = (("BENCH_REQUEST_SECONDS", str(WAIT)),)
LATENCY_PEERS = (
    Peer(f"procrastinate, --concurrency {AT_ONCE}", PROCRASTINATE.module,
         PROCRASTINATE.database,
         (str(BIN / "procrastinate"), "--app", "bench.peer_procrastinate.app", "--log-level",
          "warning", "worker", "--one-shot", "--concurrency", str(AT_ONCE)),
         settings=_SLOW),
    Peer(f"pgqueuer, --batch-size {AT_ONCE}, concurrency_limit={AT_ONCE}", PGQUEUER.module,
         PGQUEUER.database, (*PGQUEUER.worker, "--batch-size", str(AT_ONCE)),
         settings=(*_SLOW, ("BENCH_CONCURRENCY_LIMIT", str(AT_ONCE)))),
)
_ONE = DigestScenario("", "", "postgresql")


def latency_peer_key(peer: Peer) -> str:
    return "latency/" + peer.name


def noop_key(concurrency: int) -> str:
    return f"concurrency/postgresql/{concurrency}"


def latency_round(results: Results, database: QueueDatabase, jobs: int, cap: float,
                  record) -> None:
    """One round of the latency row: ours at 16 in flight, then each peer."""
    ours = digest_throughput(database, _ONE, jobs, cap, concurrency=AT_ONCE,
                             request_seconds=WAIT)
    record(results, LATENCY_KEY, ours, "jobs/s")
    record(results, RSS_KEY, Measurement(value=ours.rss_mb, done=ours.done,
                                         expected=ours.expected, rss_mb=ours.rss_mb), "MB")
    results.runs[CEILING_KEY] = [Measurement(value=CEILING)]
    for peer in LATENCY_PEERS:
        record(results, latency_peer_key(peer), peer.throughput(jobs, timeout=cap + 300),
               "jobs/s")


def noop_round(results: Results, database: QueueDatabase, jobs: int, cap: float,
               record) -> None:
    """One round of no-op throughput at each concurrency."""
    for concurrency in NOOP_CONCURRENCIES:
        record(results, noop_key(concurrency),
               digest_throughput(database, _ONE, jobs, cap, concurrency=concurrency), "jobs/s")
