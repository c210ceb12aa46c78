"""Bar charts of attempts per hour, and the strip of requests per minute, drawn as inline
SVG on the server (no chart script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..queries.hourly import HourCount
from ..queries.minutes import MinuteCount

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
    #: What a bar counts: "hour" or "minute".
    unit: str = "hour"
    #: Requests in flight, a line over the bars on the same scale: its SVG points ("x,y"
    #: at the middle of each slot), and its highest value. "": no such line.
    line: str = ""
    line_peak: int = 0
    #: Attempts of the busiest slot, when the scale's peak may be the line's instead.
    busiest: int | None = None


def time_ticks(counts: list[HourCount]) -> list[str]:
    """Every 6 hours over two days or less ("06:00"), else every midnight ("Mon 07"),
    under the left edge of the hour's bar."""
    daily = len(counts) > 48
    return [(f"{c.hour:%a %d}" if c.hour.hour == 0 else "") if daily
            else (f"{c.hour:%H:%M}" if c.hour.hour % 6 == 0 else "") for c in counts]


def _bars(slots: list[tuple[str, int, int]], peak: int, width: int, height: int) -> list[Bar]:
    """One bar per slot (its label, succeeded, failed): failed on top of succeeded, scaled
    to ``peak``."""
    slot = width / max(len(slots), 1)
    gap = min(1.0, slot * 0.2)
    bars: list[Bar] = []
    for index, (label, succeeded, failed) in enumerate(slots):
        x = round(index * slot, 2)
        bottom = float(height)
        for kind, value in (("succeeded", succeeded), ("failed", failed)):
            if not value or not peak:
                continue
            size = max(1.0, round(value / peak * (height - 2), 2))
            bottom -= size
            bars.append(Bar(x, round(bottom, 2), round(slot - gap, 2), size, kind, label))
    return bars


def stacked_bars(counts: list[HourCount], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """One bar per hour: failed on top of succeeded, scaled to the busiest hour."""
    peak = max((c.succeeded + c.failed for c in counts), default=0)
    slots = [(f"{c.hour:%Y-%m-%d %H:00} UTC: {c.succeeded} succeeded, {c.failed} failed",
              c.succeeded, c.failed) for c in counts]
    return Chart(_bars(slots, peak, width, height), peak, sum(c.succeeded for c in counts),
                 sum(c.failed for c in counts), width, height, time_ticks(counts))


def minute_ticks(minutes: list[datetime]) -> list[str]:
    """Every ten minutes ("09:40"), under the left edge of the minute's bar."""
    return [f"{m:%H:%M}" if m.minute % 10 == 0 else "" for m in minutes]


def minute_strip(counts: list[MinuteCount], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """One bar per minute (failed on top of succeeded) and the requests in flight as a
    line, on one scale: the busiest minute, or the most in flight."""
    line_peak = max((c.in_flight for c in counts), default=0)
    busiest = max((c.succeeded + c.failed for c in counts), default=0)
    peak = max(line_peak, busiest)
    slots = [(f"{c.minute:%Y-%m-%d %H:%M} UTC: {c.succeeded} succeeded, {c.failed} failed, "
              f"{c.in_flight} in flight", c.succeeded, c.failed) for c in counts]
    slot = width / max(len(counts), 1)
    line = " ".join(
        f"{round((n + 0.5) * slot, 2)},{round(height - c.in_flight / peak * (height - 2), 2)}"
        for n, c in enumerate(counts)) if peak else ""
    return Chart(_bars(slots, peak, width, height), peak, sum(c.succeeded for c in counts),
                 sum(c.failed for c in counts), width, height,
                 minute_ticks([c.minute for c in counts]), "minute", line, line_peak, busiest)
