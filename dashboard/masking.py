"""Hiding secrets in payloads and results before anyone sees them.

A key is secret when its name contains one of the configured words, ignoring case
(``QUEUE_MASKED_KEYS``: password, token, secret, api_key by default), so ``db_password``,
``accessToken`` and ``X-Api-Key`` are masked too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .queue.payload import load_shown

MASK = "••••••"


class Masker:
    def __init__(self, words: Iterable[str]) -> None:
        # "api_key" also catches "apiKey" and "X-Api-Key": compare without separators.
        self.words = tuple({_fold(w) for w in words if w.strip()})

    def is_secret(self, key: str) -> bool:
        folded = _fold(key)
        return any(word in folded for word in self.words)

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` with every secret key's value replaced by a mask."""
        if isinstance(value, dict):
            return {k: MASK if self.is_secret(str(k)) and v is not None else self.mask(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        return value

    def pretty(self, text: str | None) -> str:
        """Stored JSON text, masked and indented for reading; text that is not JSON as is."""
        if text is None:
            return ""
        value = load_shown(text)
        if value is text:  # not JSON: shown as stored
            return text
        return json.dumps(self.mask(value), indent=2, ensure_ascii=False, sort_keys=False)


def _fold(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


#: The default of ``QUEUE_MASKED_KEYS``.
DEFAULT_WORDS = ("password", "token", "secret", "api_key")


def mask(value: Any, keys: Iterable[str] = DEFAULT_WORDS) -> Any:
    """``Masker(keys).mask(value)``: a copy with the values of secret-looking keys hidden."""
    return Masker(keys).mask(value)
