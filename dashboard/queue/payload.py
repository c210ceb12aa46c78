"""JSON text in and out of the database, refusing what JSON cannot hold."""

from __future__ import annotations

import json
from typing import Any


def dump_json(value: Any, *, what: str = "payload") -> str:
    """Serialise ``value`` losslessly (unicode kept as is); ValueError when JSON can't hold it."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the {what} is not JSON-serialisable: {error}") from None


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def canonical(text: str) -> str:
    """One spelling per JSON value, to spot duplicate payloads."""
    return json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False)
