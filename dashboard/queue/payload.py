"""JSON text in and out of the database, refusing what JSON cannot hold."""

from __future__ import annotations

import json
from typing import Any

#: Arrays and objects nested deeper than this are refused: the pages, the masking and the
#: search copy walk a value recursively, and a value nested a thousand deep would make
#: them fail (a job page answering 500) instead of showing it.
MAX_DEPTH = 100
#: One encoder for every payload, and one for their canonical spelling: ``json.dumps``
#: with options builds a new one each call, as dear as encoding a small payload.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def dump_json(value: Any, *, what: str = "payload") -> str:
    """Serialise ``value`` losslessly (unicode kept as is); ValueError when JSON can't hold it
    or it is nested deeper than MAX_DEPTH."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the {what} is not JSON-serialisable: {error}") from None
    except RecursionError:
        raise ValueError(f"the {what} is nested deeper than {MAX_DEPTH} levels") from None
    # Counted only when there are enough brackets to reach the limit: most values have few.
    if text.count("[") + text.count("{") > MAX_DEPTH and depth(value) > MAX_DEPTH:
        raise ValueError(f"the {what} is nested deeper than {MAX_DEPTH} levels")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the {what} is not JSON-serialisable: a string in it is not "
                         "valid Unicode (a lone surrogate)") from None
    return text


def depth(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


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
