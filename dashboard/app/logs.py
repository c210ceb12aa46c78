"""Logs: one line per event, plain text by default, JSON lines with ``LOG_FORMAT=json``.

Named ``logs`` so that it never shadows the standard library's ``logging``. The app's
own loggers (``dashboard.*``, request types' ``dashboard.connector.*``) go through the
root logger to standard error; gunicorn's access log goes to standard output, formatted
the same way (see ``gunicorn_logging``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.logging import default_handler

from ..queue.jobs.terminal import printable, printable_json

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
#: gunicorn's access-log atoms worth a field of their own in JSON.
_ACCESS_FIELDS = {"h": "remote_addr", "m": "method", "U": "path", "q": "query",
                  "s": "status", "B": "bytes", "L": "duration"}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record: its ``extra=`` values (and gunicorn's atoms)."""
    found = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
    if record.name == "gunicorn.access" and isinstance(record.args, dict):
        for atom, name in _ACCESS_FIELDS.items():
            if record.args.get(atom) not in (None, "", "-"):
                found[name] = record.args[atom]
        if "duration" in found:
            found["duration"] = float(found["duration"])
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then the fields.

    Kept rather than python-json-logger's: what matters here is ours either way (the
    fields ``fields()`` picks, the timestamp the plain lines share, and
    ``printable_json``'s escapes, which keep text from payloads and external APIs from
    acting on a terminal), and the rest is one ``json.dumps``, not a dependency.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return printable_json(json.dumps(entry, default=str, ensure_ascii=False))


class PlainFormatter(logging.Formatter):
    """``2026-01-05T09:00:00.000Z INFO dashboard.digest: message``, on one line.

    Line breaks (from a traceback, or an error text an external API sent back) are
    written as ``\\n``: one event stays one line, and no message can forge another. Other
    control characters (ESC, C1, bidi overrides) are written as escapes too, so none acts
    on the terminal that shows the log.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return printable(line, one_line=True)


FORMATTERS: dict[str, type[logging.Formatter]] = {"plain": PlainFormatter, "json": JsonFormatter}


class _StandardError(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as test runners swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


#: The loggers LOG_LEVEL applies to: the app's own, and the migrations'. Other libraries
#: stay at WARNING: their INFO lines are theirs to debug, not the operator's to read.
OWN_LOGGERS = ("dashboard", "alembic")
#: Loggers under those that stay at WARNING: alembic's note of each of its plugins, seven
#: lines at every command's start, which tell an operator nothing.
QUIET_LOGGERS = ("alembic.runtime.plugins",)


def configure(log_format: str = "plain", level: str = "INFO") -> logging.Handler:
    """Send log records to standard error, one line each; replaces an earlier call's
    handler (and only that: a handler someone else added stays)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_dashboard", False):
            root.removeHandler(handler)
    handler = _StandardError()
    handler._dashboard = True  # type: ignore[attr-defined]
    handler.setFormatter(FORMATTERS[log_format]())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def init_app(app: Flask) -> None:
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    # Flask's own handler would print the app's records a second time.
    app.logger.removeHandler(default_handler)


def gunicorn_logging(log_format: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error log to standard error and its access log to
    standard output, in our format. The root logger is left to ``create_app``."""
    formatter = FORMATTERS[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "line",
                       "stream": "ext://sys.stdout"},
            "stderr": {"class": "logging.StreamHandler", "formatter": "line",
                       "stream": "ext://sys.stderr"},
        },
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }
