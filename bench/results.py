"""Measurements, their medians, and the JSON file a run leaves in bench/results/."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    #: Jobs/s, requests/s or MB: what the row says.
    value: float
    done: int = 0
    expected: int = 0
    #: The window the value was measured over (database timestamps for the digests).
    seconds: float = 0.0
    #: Process spawn to exit, start-up included.
    wall: float = 0.0
    rss_mb: float = 0.0
    #: CPU seconds of the worker processes (user + system), start-up included.
    cpu: float = 0.0
    #: CPU seconds of the database server meanwhile (all its processes; 0 for SQLite).
    server_cpu: float = 0.0
    #: The most connections the workers held at once (``pg_stat_activity``; 0: not sampled).
    connections: int = 0

    @property
    def cpu_ms_per_item(self) -> float | None:
        return 1000 * self.cpu / self.done if self.done and self.cpu else None

    @property
    def server_cpu_ms_per_item(self) -> float | None:
        return 1000 * self.server_cpu / self.done if self.done and self.server_cpu else None

    @property
    def capped(self) -> bool:
        """Stopped by the time cap before the queue was empty."""
        return self.done < self.expected


@dataclass
class Results:
    meta: dict = field(default_factory=dict)
    runs: dict[str, list[Measurement]] = field(default_factory=dict)

    def add(self, key: str, measurement: Measurement) -> Measurement:
        self.runs.setdefault(key, []).append(measurement)
        return measurement

    def median(self, key: str) -> float | None:
        values = [m.value for m in self.runs.get(key, [])]
        return statistics.median(values) if values else None

    def ratio(self, ours: str, theirs: str) -> float | None:
        a, b = self.median(ours), self.median(theirs)
        return a / b if a is not None and b else None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"meta": self.meta,
                "runs": {k: [asdict(m) for m in v] for k, v in self.runs.items()}}
        path.write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: Path) -> Results:
        data = json.loads(path.read_text())
        return cls(data["meta"], {k: [Measurement(**m) for m in v]
                                  for k, v in data["runs"].items()})
