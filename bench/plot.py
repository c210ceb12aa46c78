"""Bar chart of digest throughput against the peers (runs in bench/.venv-peers: matplotlib).

``python -m bench.plot RESULTS.json OUT.png``
"""

from __future__ import annotations

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BARS = (
    ("digest/postgresql/1req/1proc", "ours: PostgreSQL\n1 digest", "ours"),
    ("digest/postgresql/1req/2proc", "ours: PostgreSQL\n2 digests", "ours"),
    ("digest/postgresql/3req/1proc", "ours: PostgreSQL\n3-request jobs\n(requests/s)", "ours"),
    ("digest/sqlite/1req/1proc", "ours: SQLite\n1 digest", "ours"),
    ("digest/mariadb/1req/1proc", "ours: MariaDB\n1 digest", "ours"),
    ("peer/procrastinate, concurrency 1", "procrastinate\nconcurrency 1", "peer"),
    ("peer/pgqueuer, batch of 10 (default)", "pgqueuer\nbatch of 10", "peer"),
    ("peer/pgqueuer, batch of 1", "pgqueuer\nbatch of 1", "peer"),
)
COLOURS = {"ours": "#2a6f97", "peer": "#bc6c25"}


def main(source: str, target: str) -> None:
    data = json.load(open(source))
    runs, meta = data["runs"], data["meta"]
    labels, medians, lows, highs, colours = [], [], [], [], []
    for key, label, side in BARS:
        values = [m["value"] for m in runs.get(key, [])]
        if not values:
            continue
        median = statistics.median(values)
        labels.append(label)
        medians.append(median)
        lows.append(median - min(values))
        highs.append(max(values) - median)
        colours.append(COLOURS[side])
    fig, ax = plt.subplots(figsize=(11, 5.5))
    bars = ax.bar(labels, medians, yerr=[lows, highs], capsize=4, color=colours)
    ax.bar_label(bars, labels=[f"{m:,.0f}" for m in medians], padding=3)
    ax.set_yscale("log")  # the peers' rates and ours differ by orders of magnitude
    ax.set_ylabel("jobs/s, log scale (median; whiskers: min-max of the runs)")
    ax.set_title(f"No-op jobs, {meta.get('jobs', '?'):,} per run ({meta.get('date', '')}): one "
                 "worker process unless marked; the peers on PostgreSQL", fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(target, dpi=100)


if __name__ == "__main__":
    main(*sys.argv[1:])
