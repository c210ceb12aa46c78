"""JSON text in and out of the database, refusing what JSON cannot hold."""

from __future__ import annotations

import json
import re
from typing import Any

#: Arrays and objects nested deeper than this are refused: the pages, the masking and the
#: search copy walk a value recursively, and a value nested a thousand deep would make
#: them fail (a job page answering 500) instead of showing it.
MAX_DEPTH = 100
#: One encoder for every payload, and one for their canonical spelling: ``json.dumps``
#: with options builds a new one each call, as dear as encoding a small payload.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
#: A JSON string, escapes included (the loop unrolled: no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: Brackets kept as one byte per level: 1 opens one, 2 closes one; all else deleted.
_LEVELS = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[{]}"))


def dump_json(value: Any, *, what: str = "payload") -> str:
    """Serialise ``value`` losslessly (unicode kept as is); ValueError when JSON can't hold it
    or it is nested deeper than MAX_DEPTH."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the {what} is not JSON-serialisable: {error}") from None
    except RecursionError:
        raise ValueError(f"the {what} is nested deeper than {MAX_DEPTH} levels") from None
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the {what} is not JSON-serialisable: a string in it is not "
                         "valid Unicode (a lone surrogate)") from None
    # Measured only when there are enough brackets to reach the limit: most values have few.
    if (text.count("[") + text.count("{") > MAX_DEPTH
            and shape(encoded, MAX_DEPTH)[1] > MAX_DEPTH):
        raise ValueError(f"the {what} is nested deeper than {MAX_DEPTH} levels")
    return text


def shape(text: bytes, max_depth: int, max_values: int | None = None) -> tuple[int, int]:
    """(values, depth) of JSON ``text`` (UTF-8): how many values it holds (the whole, and
    every item and member value in it, at any depth), and how deep arrays and objects
    nest, counted up to ``max_depth`` + 1 (past ``max_values`` values, only as far as the
    first opening brackets go).

    Measured on the text, before (or instead of) parsing it, by passes of a regular
    expression and of bytes' methods that run in C: a fraction of what parsing costs,
    and far less than walking the parsed value. For text that is not JSON the figures
    are a guess (parsing it then says what is wrong)."""
    bare = _STRING.sub(b"0", text).translate(None, b" \t\n\r")  # strings as scalars
    opened = bare.count(b"[") + bare.count(b"{")
    # Each comma adds a value; so does the first item of an array or object that has one.
    values = 1 + bare.count(b",") + opened - bare.count(b"[]") - bare.count(b"{}")
    levels = bare.translate(_LEVELS, _NOT_BRACKETS)
    depth = 0
    while levels and depth <= max_depth:
        if len(levels) - len(levels.lstrip(b"\x01")) + depth > max_depth:
            return values, max_depth + 1  # as many brackets open at the start
        if max_values is not None and values > max_values:
            break
        # Each pass takes out the innermost pairs, one level: a few passes for a wide
        # value, at most max_depth + 1 for a deep one (of at most max_values values).
        shorter = levels.replace(b"\x01\x02", b"")
        if len(shorter) == len(levels):  # unbalanced: not JSON
            break
        levels, depth = shorter, depth + 1
    return values, depth


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def load_shown(text: str | None) -> Any:
    """Stored JSON text as its value, for reading it back: text that is not JSON (written
    into the database by something other than the queue) comes back as that text, so a
    page, a command, an email or the next request of a job gets it rather than a crash."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # also a number too long for int()
        return text


def canonical(text: str) -> str:
    """One spelling per JSON value, to spot duplicate payloads."""
    return _CANONICAL.encode(json.loads(text))
