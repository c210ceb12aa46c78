"""Bar charts of attempts per hour, drawn as inline SVG on the server (no chart script)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..queries.hourly import HourCount

WIDTH = 720
HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    #: "succeeded" or "failed": the CSS class that colours it.
    kind: str
    label: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    succeeded: int
    failed: int
    width: int = WIDTH
    height: int = HEIGHT
    #: The time axis under the bars: one label (or "") per bar, UTC.
    ticks: list[str] = field(default_factory=list)


def time_ticks(counts: list[HourCount]) -> list[str]:
    """Every 6 hours over two days or less ("06:00"), else every midnight ("Mon 07"),
    under the left edge of the hour's bar."""
    daily = len(counts) > 48
    return [(f"{c.hour:%a %d}" if c.hour.hour == 0 else "") if daily
            else (f"{c.hour:%H:%M}" if c.hour.hour % 6 == 0 else "") for c in counts]


def stacked_bars(counts: list[HourCount], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """One bar per hour: failed on top of succeeded, scaled to the busiest hour."""
    peak = max((c.succeeded + c.failed for c in counts), default=0)
    slot = width / max(len(counts), 1)
    gap = min(1.0, slot * 0.2)
    bars: list[Bar] = []
    for index, count in enumerate(counts):
        x = round(index * slot, 2)
        label = (f"{count.hour:%Y-%m-%d %H:00} UTC: {count.succeeded} succeeded, "
                 f"{count.failed} failed")
        bottom = float(height)
        for kind, value in (("succeeded", count.succeeded), ("failed", count.failed)):
            if not value or not peak:
                continue
            size = max(1.0, round(value / peak * (height - 2), 2))
            bottom -= size
            bars.append(Bar(x, round(bottom, 2), round(slot - gap, 2), size, kind, label))
    return Chart(bars, peak, sum(c.succeeded for c in counts), sum(c.failed for c in counts),
                 width, height, time_ticks(counts))
