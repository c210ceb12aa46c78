"""Hiding secrets in payloads, results and texts before anyone sees or searches them.

A key is secret when its name contains one of the configured words, ignoring case
(``QUEUE_MASKED_KEYS``: password, token, secret, api_key by default), so ``db_password``,
``accessToken`` and ``X-Api-Key`` are masked too.

A secret's value is also hidden where it turns up as text: in an error message, a
traceback, a log line, or another field of a payload or result (``secrets`` collects the
values, ``hide`` replaces them).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from typing import Any

from .payload import load_shown

MASK = "••••••"
#: ``Masker.searchable``'s payload whose value is not given.
NOT_PARSED: Any = object()
#: Shorter values are masked under their key but not hunted for in texts: replacing every
#: "1" or "ab" of a traceback would make it unreadable, and guards nothing worth keeping.
MIN_HIDDEN_LENGTH = 3


class Masker:
    def __init__(self, words: Iterable[str]) -> None:
        # "api_key" also catches "apiKey" and "X-Api-Key": compare without separators.
        self.words = tuple({_fold(w) for w in words if w.strip()})
        #: key -> is_secret: payloads repeat the same few keys a great many times.
        self._known: dict[str, bool] = {}

    def is_secret(self, key: str) -> bool:
        known = self._known.get(key)
        if known is None:
            folded = _fold(key)
            known = any(word in folded for word in self.words)
            if len(self._known) < 10_000:  # bounded: keys may come from anyone
                self._known[key] = known
        return known

    def mask(self, value: Any, secrets: frozenset[str] = frozenset()) -> Any:
        """A copy of ``value`` with every secret key's value replaced by a mask, and the
        ``secrets`` hidden inside its other strings."""
        if isinstance(value, dict):
            return {k: MASK if self.is_secret(str(k)) and v is not None
                    else self.mask(v, secrets) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(item, secrets) for item in value]
        if isinstance(value, str) and secrets:
            return hide(value, secrets)
        return value

    def secrets(self, *values: Any) -> frozenset[str]:
        """The values of the secret keys in ``values``, as texts to hide elsewhere."""
        found: set[str] = set()
        for value in values:
            self._collect(value, found, under_secret=False)
        return frozenset(s for s in found if len(s) >= MIN_HIDDEN_LENGTH)

    def _collect(self, value: Any, found: set[str], *, under_secret: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._collect(item, found, under_secret=under_secret or self.is_secret(str(key)))
        elif isinstance(value, list):
            for item in value:
                self._collect(item, found, under_secret=under_secret)
        elif under_secret and value is not None and not isinstance(value, bool):
            found.add(str(value))

    def secrets_of_json(self, *texts: str | None) -> frozenset[str]:
        """``secrets`` of stored JSON texts (text that is not JSON holds no key)."""
        try:
            return self.secrets(*(load_shown(t) for t in texts if t is not None))
        except RecursionError:  # stored before MAX_DEPTH: shown as a note, see pretty()
            return frozenset()

    def pretty(self, text: str | None, secrets: frozenset[str] = frozenset()) -> str:
        """Stored JSON text, masked and indented for reading; text that is not JSON as is
        (its secrets hidden)."""
        if text is None:
            return ""
        try:
            value = json.loads(text)
            return json.dumps(self.mask(value, secrets), indent=2, ensure_ascii=False)
        except ValueError:  # not JSON: shown as stored
            return hide(text, secrets)
        except RecursionError:
            # Stored before payload.MAX_DEPTH, or by something else than the queue: its
            # secret keys can't be masked, so it is not shown.
            return f"(JSON nested too deeply to show: {len(text):,} characters)"

    def searchable(self, payload: str, *, value: Any = NOT_PARSED) -> str:
        """The copy of a stored payload that text search reads: secret keys' values masked,
        and hidden wherever else they appear, so no search can match inside a secret.

        ``value``: what ``payload`` is ``dump_json``'s text of. The text is then its own
        copy when no key in it is secret (one walk, instead of a parse, two walks and a
        dump).
        """
        if value is NOT_PARSED:
            value = json.loads(payload)
        elif not self._has_secret_key(value):
            return payload
        return json.dumps(self.mask(value, self.secrets(value)), ensure_ascii=False)

    def _has_secret_key(self, value: Any) -> bool:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if any(self.is_secret(str(key)) for key in item):
                    return True
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return False


def hide(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (as written, JSON-escaped or repr()-quoted, in
    any case) replaced by the mask."""
    if not text or not secrets:
        return text
    secrets = frozenset(secrets)
    folded = text.lower()
    # Most texts hold no secret: a plain search says so without building a pattern.
    if not any(spelling in folded for spelling in _folded_spellings(secrets)):
        return text
    return _pattern(secrets).sub(MASK, text)


@functools.lru_cache(maxsize=256)
def _folded_spellings(secrets: frozenset[str]) -> frozenset[str]:
    return frozenset(s.lower() for secret in secrets for s in _spellings(secret))


@functools.lru_cache(maxsize=256)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str]:
    """One pattern for all the secrets of a job (made once, for its many texts)."""
    spellings = {spelling for secret in secrets for spelling in _spellings(secret)}
    # Longest first: a secret that contains another is hidden whole.
    return re.compile("|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)),
                      re.IGNORECASE)


class HidingLogger(logging.LoggerAdapter):
    """A request type's ``context.logger``: the request's secrets hidden in every line."""

    def __init__(self, logger: logging.Logger, secrets: frozenset[str]) -> None:
        super().__init__(logger, {})
        self.secrets = secrets

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:  # the traceback is text like the rest: formatted here, then hidden
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
        self.logger.log(level, hide(text, self.secrets), **kwargs)


def _spellings(secret: str) -> set[str]:
    found = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             repr(secret)[1:-1]}
    return {s for s in found if len(s) >= MIN_HIDDEN_LENGTH}


def _fold(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


#: The default of ``QUEUE_MASKED_KEYS``.
DEFAULT_WORDS = ("password", "token", "secret", "api_key")


def mask(value: Any, keys: Iterable[str] = DEFAULT_WORDS) -> Any:
    """``Masker(keys).mask(value)``: a copy with the values of secret-looking keys hidden."""
    return Masker(keys).mask(value)
