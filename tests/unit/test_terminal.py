"""Control characters from payloads and errors are written as escapes, never raw."""

from __future__ import annotations

import json
import logging

import pytest

from dashboard.app.logs import JsonFormatter, PlainFormatter
from dashboard.queue.jobs.terminal import printable, printable_json

#: What a hostile payload or API answer puts in an error message.
HOSTILE = [
    ("\x1b[2J", "\\x1b[2J"),                          # ESC: clears the screen
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),        # OSC: sets the window title
    ("\x9b31m", "\\x9b31m"),                          # C1 CSI
    ("\u202eevil", "\\u202eevil"),                    # bidi override
    ("\u2066x\u2069", "\\u2066x\\u2069"),             # bidi isolate
    ("a\rb", "a\\rb"),                                # carriage return: overwrites the line
    ("a\x7fb", "a\\x7fb"),                            # DEL
    ("a\u2028b", "a\\u2028b"),                        # line separator
    ("plain text, émoji ✓", "plain text, émoji ✓"),   # nothing to escape
]


@pytest.mark.parametrize(("raw", "shown"), HOSTILE)
def test_printable_escapes_control_characters(raw, shown):
    assert printable(raw) == shown


def test_printable_keeps_line_breaks_and_tabs_unless_one_line():
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("a\tb\nc", one_line=True) == "a\\tb\\nc"


@pytest.mark.parametrize(("raw", "shown"), HOSTILE)
def test_printable_json_means_the_same_once_parsed(raw, shown):
    text = printable_json(json.dumps({"error": raw}, ensure_ascii=False))
    assert json.loads(text) == {"error": raw}
    assert not any(c in text for c in "\x1b\x9b\u202e\u2066\r\x7f\u2028")


@pytest.mark.parametrize("formatter", [PlainFormatter(), JsonFormatter()])
@pytest.mark.parametrize(("raw", "shown"), HOSTILE[:-1])
def test_log_lines_hold_no_raw_control_character(formatter, raw, shown):
    record = logging.LogRecord("dashboard.digest", logging.WARNING, __file__, 1,
                               "job 1 failed: %s", (raw,), None)
    line = formatter.format(record)
    assert raw not in line and "\n" not in line
    if isinstance(formatter, JsonFormatter):
        assert json.loads(line)["message"] == f"job 1 failed: {raw}"
