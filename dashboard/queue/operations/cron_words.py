"""A 5-field cron expression in words, for the Schedules page: "every 2 minutes", "every
day at 03:00", "every Monday and Friday at 09:30".

The common shapes are told in a sentence; any other expression gets each of its fields
named ("minute 5-10, hour 3, day of month 1,15"), which is exact if plain.
"""

from __future__ import annotations

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_NAMES = {name[:3].lower(): str(i) for i, name in enumerate(DAYS)}
_MONTH_NAMES = {name[:3].lower(): str(i) for i, name in enumerate(MONTHS, 1)}


def describe(cron: str) -> str:
    """The expression in words (UTC or its entry's zone: the caller says which)."""
    fields = cron.split()
    if len(fields) != 5:
        return cron
    minute, hour, day, month, weekday = fields
    weekday = _named(weekday, _NAMES)
    month = _named(month, _MONTH_NAMES)
    if (day, month, weekday) == ("*", "*", "*"):
        said = _daily(minute, hour)
        if said:
            return said
    if minute.isdigit() and hour.isdigit():
        at = f"at {int(hour):02d}:{int(minute):02d}"
        days = _days(day, month, weekday)
        if days:
            return f"{days} {at}"
    return ", ".join(f"{name} {value}" for name, value in (
        ("minute", minute), ("hour", hour), ("day of month", day), ("month", month),
        ("weekday", weekday)) if value != "*") or "every minute"


def _named(field: str, names: dict[str, str]) -> str:
    for name, number in names.items():
        field = field.lower().replace(name, number)
    return field


def _every(step: str, unit: str) -> str:
    return f"every {unit}" if step == "1" else f"every {step} {unit}s"


def _daily(minute: str, hour: str) -> str | None:
    """Shapes that repeat every day."""
    if hour == "*":
        if minute == "*":
            return "every minute"
        if minute.startswith("*/") and minute[2:].isdigit():
            return _every(minute[2:], "minute")
        if minute.isdigit():
            return f"every hour at minute {int(minute)}"
        return None
    if minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit():
        return f"{_every(hour[2:], 'hour')} at minute {int(minute)}"
    if minute.isdigit() and hour.isdigit():
        return f"every day at {int(hour):02d}:{int(minute):02d}"
    if minute.isdigit() and all(h.isdigit() for h in hour.split(",")):
        return "every day at " + _and([f"{int(h):02d}:{int(minute):02d}"
                                      for h in hour.split(",")])
    return None


def _days(day: str, month: str, weekday: str) -> str | None:
    """The days of a daily time: weekdays, or a day of the month (of some months)."""
    if day == "*" and month == "*":
        if weekday in ("1-5", "mon-fri"):
            return "every weekday (Monday to Friday)"
        if all(d.isdigit() and int(d) <= 7 for d in weekday.split(",")):
            return "every " + _and([DAYS[int(d) % 7] for d in weekday.split(",")])
        return None
    if weekday != "*" or not all(d.isdigit() for d in day.split(",")):
        return None
    days = _and([_ordinal(int(d)) for d in day.split(",")])
    if month == "*":
        return f"on the {days} of every month"
    if all(m.isdigit() and 1 <= int(m) <= 12 for m in month.split(",")):
        return f"on the {days} of " + _and([MONTHS[int(m) - 1] for m in month.split(",")])
    return None


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
