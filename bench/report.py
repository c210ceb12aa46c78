"""The tables of a run, as markdown, written into docs/benchmarks.md between two markers."""

from __future__ import annotations

import statistics
from pathlib import Path

from . import concurrency, inflight, pickup
from .ours import SCENARIOS
from .peers import PGQUEUER, PGQUEUER_BATCH_1, PROCRASTINATE, WORKERS
from .results import Results

PLOT = "benchmarks-digest.png"
ENQUEUE_ROWS = (
    ("enqueue/ours/single", "ours: `JobRepository().save(job)`, one job per call"),
    ("enqueue/ours/bulk", "ours: `JobRepository().save_many(jobs)`, {batch} jobs per call"),
    ("enqueue/ours/http", "ours: `POST /api/v1/jobs` over gunicorn"),
    ("enqueue/ours/http-batch", "ours: `POST /api/v1/jobs/batch` over gunicorn, {batch} per call"),
    ("enqueue/procrastinate/single", "procrastinate: `defer_async()`, one job per call"),
    ("enqueue/procrastinate/bulk", "procrastinate: `batch_defer_async()`, {batch} per call"),
    ("enqueue/pgqueuer/single", "pgqueuer: `Queries.enqueue()`, one job per call"),
    ("enqueue/pgqueuer/bulk", "pgqueuer: `Queries.enqueue()` with lists, {batch} per call"),
)


#: Issue 13: jobs/s over HTTP with one client, whatever the peers do.
HTTP_TARGETS = (
    ("enqueue/ours/http", "`POST /api/v1/jobs` ≥ 400 jobs/s", 400),
    ("enqueue/ours/http-batch", "`POST /api/v1/jobs/batch` ≥ 5,000 jobs/s", 5000),
)


def peer_key(peer) -> str:
    return "peer/" + peer.name


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def runs(results: Results, key: str, digits: int = 0) -> str:
    return ", ".join(fmt(m.value, digits) for m in results.runs.get(key, []))


def done(results: Results, key: str) -> str:
    measured = results.runs.get(key, [])
    if not measured:
        return "—"
    capped = sum(m.capped for m in measured)
    text = f"{min(m.done for m in measured):,}/{measured[0].expected:,}"
    return text + (f" ({capped} capped)" if capped else "")


def rss(results: Results, key: str) -> str:
    measured = results.runs.get(key, [])
    return fmt(max(m.rss_mb for m in measured)) + " MB" if measured else "—"


def cpu(results: Results, key: str, of: str = "cpu_ms_per_item") -> str:
    values = [getattr(m, of) for m in results.runs.get(key, []) if getattr(m, of)]
    return fmt(statistics.median(values), 2) if values else "—"


def server(results: Results, key: str) -> str:
    return cpu(results, key, "server_cpu_ms_per_item")


def throughput_table(results: Results) -> list[str]:
    lines = [
        "| digest or worker | unit | median | runs | done/queued | ours ÷ procrastinate "
        "| ours ÷ pgqueuer (batch 10) | ours ÷ pgqueuer (batch 1) | CPU ms per job "
        "| server CPU ms per job | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in SCENARIOS:
        if s.key not in results.runs:
            continue
        cells = ["—"] * 3
        if s.kind == "postgresql":
            cells = [ratio(results.ratio(s.key, peer_key(p)))
                     for p in (PROCRASTINATE, PGQUEUER, PGQUEUER_BATCH_1)]
        lines.append(f"| ours: {s.label} | {s.unit} | **{fmt(results.median(s.key))}** | "
                     f"{runs(results, s.key)} | {done(results, s.key)} | {' | '.join(cells)} | "
                     f"{cpu(results, s.key)} | {server(results, s.key)} | {rss(results, s.key)} |")
    for peer in WORKERS:
        key = peer_key(peer)
        if key in results.runs:
            lines.append(f"| {peer.name} | jobs/s | **{fmt(results.median(key))}** | "
                         f"{runs(results, key)} | {done(results, key)} | | | | "
                         f"{cpu(results, key)} | {server(results, key)} | {rss(results, key)} |")
    return lines


def targets_table(results: Results) -> list[str]:
    one = "digest/postgresql/1req/1proc"
    rows = [
        ("Digest, 1 process, PostgreSQL ≥ 2x procrastinate",
         results.ratio(one, peer_key(PROCRASTINATE)), 2.0),
        ("Digest, 1 process, PostgreSQL ≥ 0.5x pgqueuer (default batch)",
         results.ratio(one, peer_key(PGQUEUER)), 0.5),
        ("Two digests ≥ 1.6x one", results.ratio("digest/postgresql/1req/2proc", one), 1.6),
        ("Enqueue one at a time ≥ 0.8x pgqueuer's",
         results.ratio("enqueue/ours/single", "enqueue/pgqueuer/single"), 0.8),
        ("Enqueue in bulk ≥ procrastinate's",
         results.ratio("enqueue/ours/bulk", "enqueue/procrastinate/bulk"), 1.0),
    ]
    lines = ["| target | measured | met |", "|---|---|---|"]
    for label, value, wanted in rows:
        met = "—" if value is None else ("yes" if value >= wanted else "**no**")
        lines.append(f"| {label} | {ratio(value)} | {met} |")
    for key, label, wanted in HTTP_TARGETS:
        value = results.median(key)
        if value is not None:
            met = "yes" if value >= wanted else "**no**"
            lines.append(f"| {label} | {fmt(value)} jobs/s | {met} |")
    peak = results.median("memory/digest/backlog")
    if peak is not None:
        lines.append(f"| Digest peak RSS < 150 MB with {results.meta.get('memory_jobs', 0):,} "
                     f"due jobs | {fmt(peak)} MB | {'yes' if peak < 150 else '**no**'} |")
    return lines


#: Issue 11: a cold burst runs at least this share of the analyzed figure.
COLD_TARGET = 0.8


def cold_table(results: Results) -> list[str]:
    """The no-op digest on a fresh burst (no ANALYZE since the jobs arrived), beside the
    same digest or worker on analyzed tables (the throughput table's rows)."""
    rows = [("ours: PostgreSQL, 1-request jobs, 1 digest", "cold/postgresql/ours",
             SCENARIOS[0].key)]
    rows += [(peer.name, "cold/" + peer_key(peer), peer_key(peer)) for peer in WORKERS]
    lines = ["| digest or worker | cold burst, jobs/s | runs | done/queued | analyzed, jobs/s "
             "| cold ÷ analyzed | ≥ 0.8x |", "|---|---|---|---|---|---|---|"]
    for label, cold, analyzed in rows:
        if cold not in results.runs:
            continue
        share = results.ratio(cold, analyzed)
        met = "—" if share is None else ("yes" if share >= COLD_TARGET else "**no**")
        lines.append(f"| {label} | **{fmt(results.median(cold))}** | {runs(results, cold)} | "
                     f"{done(results, cold)} | {fmt(results.median(analyzed))} | "
                     f"{ratio(share)} | {met} |")
    return lines


def enqueue_table(results: Results) -> list[str]:
    batch = results.meta.get("batch", 1000)
    lines = ["| enqueue through | median jobs/s | runs |", "|---|---|---|"]
    for key, label in ENQUEUE_ROWS:
        label = label.format(batch=f"{batch:,}")
        if key in results.runs:
            lines.append(f"| {label} | **{fmt(results.median(key))}** | {runs(results, key)} |")
    return lines


def memory_table(results: Results) -> list[str]:
    meta = results.meta
    lines = ["| digest process | peak RSS | jobs run | jobs/s |", "|---|---|---|---|"]
    for key, label in (("memory/digest/empty", "empty queue (start-up alone)"),
                       ("memory/digest/backlog",
                        f"{meta.get('memory_jobs', 0):,} due jobs, `--max-jobs "
                        f"{meta.get('memory_max_jobs', 0):,}`")):
        for m in results.runs.get(key, []):
            rate = m.done / m.seconds if m.seconds else None
            lines.append(f"| {label} | **{fmt(m.rss_mb)} MB** | {m.done:,} | {fmt(rate)} |")
    if "memory_seed_seconds" in meta:
        lines.append(f"\nSeeding {meta['memory_jobs']:,} jobs and their requests by `INSERT ... "
                     f"SELECT generate_series` took {meta['memory_seed_seconds']:.0f} s.")
    return lines


def machine(results: Results) -> list[str]:
    meta = results.meta
    lines = [f"- Command: `{meta['command']}` ({meta['settings']})",
             f"- When: {meta['date']}, project commit `{meta['commit']}`",
             f"- Machine: {meta['machine']}",
             f"- Load average (1, 5, 15 min) at start: {meta['load_start']}; "
             f"at end: {meta.get('load_end', '—')}",
             f"- Databases: {meta['databases']}",
             f"- Versions: {meta['versions']}"]
    key = "probe/postgresql/commits"
    if key in results.runs:
        lines.append(f"- Commit ceiling (one INSERT per commit, one connection, PostgreSQL), "
                     f"measured before each round: median **{fmt(results.median(key))}/s** "
                     f"(runs: {runs(results, key)})")
    return lines


def concurrency_table(results: Results) -> list[str]:
    """Issue 11: the latency row beside its ceiling, no-op throughput by concurrency."""
    lines = ["| one process, PostgreSQL | median jobs/s | runs | done/queued | CPU ms per job "
             "| server CPU ms per job | peak RSS |", "|---|---|---|---|---|---|---|"]
    rows = [(concurrency.LATENCY_KEY,
             f"ours: 50 ms requests, `--concurrency {concurrency.AT_ONCE}`")]
    rows += [(concurrency.latency_peer_key(p), f"{p.name}: 50 ms tasks")
             for p in concurrency.LATENCY_PEERS]
    rows += [(concurrency.CEILING_KEY, f"ceiling: {concurrency.AT_ONCE} in flight / "
                                       f"{concurrency.WAIT * 1000:.0f} ms")]
    rows += [(concurrency.noop_key(n), f"ours: no-op requests, `--concurrency {n}`")
             for n in concurrency.NOOP_CONCURRENCIES]
    for key, label in rows:
        if key in results.runs:
            measured = key != concurrency.CEILING_KEY  # the ceiling is computed
            lines.append(f"| {label} | **{fmt(results.median(key))}** | {runs(results, key)} | "
                         f"{done(results, key) if measured else '—'} | "
                         f"{cpu(results, key) if measured else '—'} | "
                         f"{server(results, key) if measured else '—'} | "
                         f"{rss(results, key) if measured else '—'} |")
    return lines


def concurrency_targets(results: Results) -> list[str]:
    latency = concurrency.LATENCY_KEY
    procrastinate, pgqueuer = map(concurrency.latency_peer_key, concurrency.LATENCY_PEERS)
    default = concurrency.noop_key(8) if concurrency.noop_key(8) in results.runs \
        else "digest/postgresql/1req/1proc"  # the default concurrency, QUEUE_CONCURRENCY=8
    rows = [
        ("Latency ≥ 0.8x the ceiling", results.ratio(latency, concurrency.CEILING_KEY), 0.8),
        ("Latency ≥ 1.0x procrastinate", results.ratio(latency, procrastinate), 1.0),
        ("Latency ≥ 0.8x pgqueuer", results.ratio(latency, pgqueuer), 0.8),
        ("No-op at the default concurrency ≥ concurrency 1",
         results.ratio(default, concurrency.noop_key(1)), 1.0),
    ]
    lines = ["| target | measured | met |", "|---|---|---|"]
    for label, value, wanted in rows:
        met = "—" if value is None else ("yes" if value >= wanted else "**no**")
        lines.append(f"| {label} | {ratio(value)} | {met} |")
    peak = results.median(concurrency.RSS_KEY)
    if peak is not None:
        lines.append(f"| Digest peak RSS at concurrency {concurrency.AT_ONCE} < 200 MB | "
                     f"{fmt(peak)} MB | {'yes' if peak < 200 else '**no**'} |")
    return lines


#: Issue 24's runs of many requests in flight (bench/inflight.py), as the table names them.
INFLIGHT_ROWS = (
    ("ours", f"ours: `--concurrency {inflight.AT_ONCE}`, `QUEUE_DB_CONNECTIONS` default (8)"),
    ("procrastinate", f"procrastinate: `--concurrency {inflight.AT_ONCE}`"),
    ("pgqueuer", f"pgqueuer: `--batch-size {inflight.AT_ONCE}`, "
                 f"`concurrency_limit={inflight.AT_ONCE}`"),
    ("fleet", f"ours: a fleet of {inflight.FLEET} x `--concurrency {inflight.FLEET_EACH}`, "
              f"`QUEUE_DB_CONNECTIONS={inflight.FLEET_CONNECTIONS}`"),
    ("noop", "ours: no-op requests, `--concurrency 16`"),
    ("noop-pgqueuer", "pgqueuer: no-op, its default batch (10)"),
)


def inflight_table(results: Results) -> list[str]:
    """Issue 24: 1 s requests, 400 in flight in one process; the fleet; no-op."""
    lines = ["| run (PostgreSQL) | median jobs/s | runs | done/queued | peak connections "
             "| CPU ms per job | peak RSS |", "|---|---|---|---|---|---|---|"]
    for run, label in INFLIGHT_ROWS:
        key = inflight.key(run)
        if key in results.runs:
            peak = max(m.connections for m in results.runs[key])
            lines.append(f"| {label} | **{fmt(results.median(key))}** | {runs(results, key)} "
                         f"| {done(results, key)} | {peak} | {cpu(results, key)} "
                         f"| {rss(results, key)} |")
    return lines


def inflight_targets(results: Results) -> list[str]:
    ours, key = inflight.key("ours"), inflight.key
    ceiling = inflight.AT_ONCE / inflight.WAIT
    median = results.median(ours)
    rows = [
        ("Many in flight ≥ 0.8x the ceiling (400 jobs/s)",
         None if median is None else median / ceiling, 0.8),
        ("Many in flight ≥ 1.0x procrastinate", results.ratio(ours, key("procrastinate")), 1.0),
        ("Many in flight ≥ 1.0x pgqueuer", results.ratio(ours, key("pgqueuer")), 1.0),
        ("No-op ≥ 0.5x pgqueuer's default batch",
         results.ratio(key("noop"), key("noop-pgqueuer")), 0.5),
    ]
    lines = ["| target | measured | met |", "|---|---|---|"]
    for label, value, wanted in rows:
        met = "—" if value is None else ("yes" if value >= wanted else "**no**")
        lines.append(f"| {label} | {ratio(value)} | {met} |")
    for run, label, most in (("ours", "Peak connections of one digest at 400 in flight", 8),
                             ("fleet", "The 6 x 100 fleet on 24 connections in all", 24)):
        measured = results.runs.get(key(run), [])
        if measured:
            peak = max(m.connections for m in measured)
            whole = all(not m.capped for m in measured)
            lines.append(f"| {label} ≤ {most} | {peak}, every job done: "
                         f"{'yes' if whole else 'no'} | "
                         f"{'yes' if peak <= most and whole else '**no**'} |")
    if ours in results.runs:
        peak_rss = max(m.rss_mb for m in results.runs[ours])
        lines.append(f"| Peak RSS at 400 in flight < 250 MB | {fmt(peak_rss)} MB | "
                     f"{'yes' if peak_rss < 250 else '**no**'} |")
    return lines


def pickup_table(results: Results) -> list[str]:
    """Issue 24: save to start with a long-lived worker at its defaults, idle a while."""
    lines = ["| worker | p50 ms | p95 ms | runs of p50 | poll ms | target (p50 / p95) |",
             "|---|---|---|---|---|---|"]
    wanted = {"postgresql": (50, 200), "sqlite": (500, 1000)}
    for name in pickup.NAMES:
        p50, p95 = pickup.key(name, "p50"), pickup.key(name, "p95")
        if p50 not in results.runs:
            continue
        poll = results.median(pickup.key(name, "poll"))
        target = wanted.get(name)
        met = "—" if target is None else (
            f"≤ {target[0]} / ≤ {target[1]}: " + (
                "yes" if results.median(p50) <= target[0] and results.median(p95) <= target[1]
                else "**no**"))
        lines.append(f"| {pickup.LABELS[name]} | **{fmt(results.median(p50))}** | "
                     f"{fmt(results.median(p95))} | {runs(results, p50)} | "
                     f"{'—' if poll is None else fmt(poll, 3)} | {met} |")
    return lines


def markdown(results: Results) -> str:
    parts = ["### Figures of the last run", "", *machine(results), "",
             "#### Digest throughput (no-op requests; medians; ratios of medians from this run)",
             "", *throughput_table(results), "",
             f"![digest throughput against the peers]({PLOT})", "",
             "#### Targets of issue 7", "", *targets_table(results), "",
             "#### Cold burst (PostgreSQL, no ANALYZE since the jobs arrived)", "",
             *cold_table(results), "",
             "#### Enqueue (PostgreSQL, client's own clock)", "", *enqueue_table(results), "",
             "#### Memory", "", *memory_table(results)]
    if any(key.startswith(("latency/", "concurrency/")) for key in results.runs):
        parts += ["", "#### Requests in flight (issue 11; medians, ratios of medians)", "",
                  *concurrency_table(results), "", "#### Targets of issue 11", "",
                  *concurrency_targets(results)]
    if any(key.startswith("inflight/") for key in results.runs):
        parts += ["", f"#### Many in flight (issue 24; {inflight.WAIT:.0f} s requests, one "
                  "process each; medians of the rounds)", "", *inflight_table(results), "",
                  "#### Targets of issue 24", "", *inflight_targets(results)]
    if any(key.startswith("pickup/") for key in results.runs):
        parts += ["", f"#### Pickup (issue 24; {pickup.JOBS} jobs saved one at a time to an "
                  "idle `--loop` worker; medians of the rounds)", "", *pickup_table(results)]
    return "\n".join(parts) + "\n"


def write_docs(path: Path, text: str, section: str = "bench") -> None:
    """Replace what stands between the section's markers in ``path`` (append if missing)."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    current = path.read_text() if path.exists() else ""
    block = f"{begin}\n{text}{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(current)
