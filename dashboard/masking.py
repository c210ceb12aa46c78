"""Masking secrets in payloads before they are shown or sent anywhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: A key holding any of these (case, ``-`` and ``_`` aside) has its value masked.
SECRET_KEYS = ("password", "token", "secret", "api_key")
MASK = "********"


def _plain(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def mask(obj: Any, keys: Iterable[str] = SECRET_KEYS) -> Any:
    """A copy of ``obj`` (decoded JSON) in which the values of secret-looking keys, at any
    depth, are replaced by ``MASK``: ``{"apiKey": "k", "user": "a"}`` gives
    ``{"apiKey": "********", "user": "a"}``."""
    words = tuple(_plain(key) for key in keys)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: MASK if isinstance(key, str) and any(w in _plain(key) for w in words)
                else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        return value

    return walk(obj)
