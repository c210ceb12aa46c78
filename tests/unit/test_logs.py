"""Log lines: plain text by default, JSON lines for log shippers; one line per event."""

import io
import json
import logging
import logging.config
import sys

import pytest

from dashboard.app import logs


def record(message="job %s done", args=(7,), exc_info=None, **extra):
    entry = logging.LogRecord("dashboard.digest", logging.INFO, __file__, 1, message, args,
                              exc_info)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def raised(error: Exception):
    """The exc_info of ``error``, raised and caught."""
    try:
        raise error
    except Exception:
        return sys.exc_info()


def test_json_line_has_the_standard_fields_and_the_extra_ones():
    line = logs.JsonFormatter().format(record(job_id=7, type_code="crm", duration=0.25))
    entry = json.loads(line)
    assert entry.pop("timestamp").endswith("Z")
    assert entry == {"level": "INFO", "logger": "dashboard.digest", "message": "job 7 done",
                     "job_id": 7, "type_code": "crm", "duration": 0.25}


def test_json_keeps_an_exception_on_the_same_line():
    line = logs.JsonFormatter().format(record(exc_info=raised(RuntimeError("boom\nsecond line"))))
    assert "\n" not in line
    assert "RuntimeError: boom\nsecond line" in json.loads(line)["exception"]


def test_json_never_fails_on_a_value_it_cannot_encode():
    line = logs.JsonFormatter().format(record(when=object()))
    assert json.loads(line)["when"].startswith("<object object")


def test_plain_line():
    line = logs.PlainFormatter().format(record(job_id=7))
    stamp, rest = line.split(" ", 1)
    assert stamp.endswith("Z") and "T" in stamp
    assert rest == "INFO dashboard.digest: job 7 done"


@pytest.mark.parametrize("text", ["a\nINFO forged line", "a\r\nb"])
def test_plain_line_breaks_are_escaped_so_no_message_forges_another(text):
    line = logs.PlainFormatter().format(record(message="error: %s", args=(text,)))
    assert "\n" not in line and "\r" not in line
    assert line.endswith("error: " + text.replace("\r", "\\r").replace("\n", "\\n"))


def test_plain_traceback_stays_on_one_line():
    line = logs.PlainFormatter().format(record(exc_info=raised(ValueError("bad"))))
    assert "\n" not in line
    assert "\\nTraceback (most recent call last):\\n" in line
    assert line.endswith("ValueError: bad")


def test_configure_replaces_only_its_own_handler(capsys):
    root = logging.getLogger()
    other = logging.NullHandler()
    root.addHandler(other)
    try:
        logs.configure("plain", "INFO")
        logs.configure("json", "WARNING")
        ours = [h for h in root.handlers if getattr(h, "_dashboard", False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.JsonFormatter)
        assert other in root.handlers
        logging.getLogger("dashboard.test").warning("to %s", "stderr", extra={"n": 1})
        logging.getLogger("dashboard.test").info("below the level")
        lines = capsys.readouterr().err.splitlines()
        assert [json.loads(line)["message"] for line in lines] == ["to stderr"]
        logs.configure("plain", "DEBUG")
        logging.getLogger("dashboard.test").debug("ours, at LOG_LEVEL")
        logging.getLogger("some.library").info("a library's chatter")
        logging.getLogger("some.library").warning("a library's warning")
        lines = capsys.readouterr().err.splitlines()
        assert [line.split(": ", 1)[1] for line in lines] == [
            "ours, at LOG_LEVEL", "a library's warning"]
    finally:
        root.removeHandler(other)
        logs.configure("plain", "INFO")


def test_gunicorn_access_log_in_json_has_request_fields():
    atoms = {"h": "127.0.0.1", "m": "GET", "U": "/healthz", "q": "", "s": "200", "B": 30,
             "L": "0.001500", "r": "GET /healthz HTTP/1.1"}
    entry = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(r)s %(s)s',
                              (atoms,), None)
    line = json.loads(logs.JsonFormatter().format(entry))
    assert line["message"] == "GET /healthz HTTP/1.1 200"
    assert (line["method"], line["path"], line["status"], line["duration"]) == (
        "GET", "/healthz", "200", 0.0015)
    assert "query" not in line


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_gunicorn_logging_is_a_valid_logging_config(log_format, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    saved = logging.getLogger().handlers[:]
    try:
        logging.config.dictConfig(logs.gunicorn_logging(log_format))
        logging.getLogger("gunicorn.access").info("GET / 200")
    finally:
        for name in ("gunicorn.access", "gunicorn.error"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
        logging.getLogger().handlers[:] = saved
    line = stream.getvalue().strip()
    assert line.endswith("GET / 200" if log_format == "plain" else '"message": "GET / 200"}')
