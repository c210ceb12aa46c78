"""Template filters: times in UTC, ages, durations, numbers, masked JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, request
from markupsafe import Markup, escape

from ..auth.models import Role
from ..queries.running import running_call
from ..queue.jobs.masking import MASK, Masker, hide
from ..queue.jobs.settings import clock

#: htmx without eval or inline styles (the CSP allows neither); 409 (an action that did
#: not apply) is swapped like a success so that its message shows.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "409", "swap": True, "error": False},
        {"code": "[45]..", "swap": False, "error": True},
    ],
}


def now() -> datetime:
    """The queue's clock (the tests set it; otherwise the time now, in UTC)."""
    return clock()


def utc(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def time_tag(moment: datetime | None, short: bool = False) -> Markup:
    """A ``<time>`` in UTC with the ISO value in its title (every value escaped);
    ``short`` leaves out the seconds and "UTC" (for tables that say UTC in their head)."""
    if moment is None:
        return Markup("—")
    value = escape(iso(moment))
    shown = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if short else utc(moment)
    return Markup(f'<time datetime="{value}" title="{value}">{escape(shown)}</time>')


def span(seconds: float | timedelta | None) -> str:
    """3 s, 4 min 10 s, 2 h 5 min, 3 d 4 h."""
    if seconds is None:
        return "—"
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def age(moment: datetime | None) -> str:
    return "—" if moment is None else span(now() - moment)


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def percent(share: float | None) -> str:
    """0.125 as "12.5%"; None (nothing to divide) as a dash."""
    return "—" if share is None else f"{share * 100:.1f}%"


def rough(value: int) -> str:
    """An estimate in two significant digits (about 870,000, never 871,342)."""
    return f"{round(value, 2 - len(str(abs(value)))):,}"


#: A masked value as the page shows it: the mask to the eye, the word "masked" to a
#: screen reader (which would read six bullets, or nothing).
SHOWN_MASK = Markup(f'<span class="masked"><span aria-hidden="true">{MASK}</span>'
                    '<span class="visually-hidden">masked</span></span>')


def read_masked(text: str) -> Markup:
    """The text escaped, each mask in it shown as SHOWN_MASK."""
    return SHOWN_MASK.join(escape(part) for part in text.split(MASK))


def pretty(text: str | None, secrets: frozenset[str] = frozenset()) -> Markup:
    """Stored JSON, secrets masked (and ``secrets`` hidden), indented, escaped."""
    return read_masked(Masker(current_app.config["QUEUE_MASKED_KEYS"]).pretty(text, secrets))


def hidden(text: str | None, secrets: frozenset[str] = frozenset()) -> Markup:
    """A text (an error, a traceback) with the job's ``secrets`` hidden, escaped."""
    return read_masked(hide(text or "", secrets))


def is_htmx() -> bool:
    """An htmx request for a fragment (not a history restore, which needs the page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def init_app(app: Flask) -> None:
    app.add_template_filter(utc)
    app.add_template_filter(iso)
    app.add_template_filter(span)
    app.add_template_filter(age)
    app.add_template_filter(number)
    app.add_template_filter(rough)
    app.add_template_filter(percent)
    app.add_template_filter(pretty)
    app.add_template_filter(hidden)
    app.add_template_global(time_tag)
    app.add_template_global(running_call)
    app.context_processor(lambda: {"Role": Role, "htmx_config": HTMX_CONFIG})
