"""Ids in URL paths: every ``<int:...>`` of our routes is a database id."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .queries.filters import MAX_ID, SHOWN_VALUE


class IdConverter(IntegerConverter):
    """An id of a job, user or token, from 1 to the id columns' largest value.

    A larger one never reaches the database, where it would fail (SQLite: "Python int too
    large to convert", PostgreSQL: "integer out of range") with a 500: it gets the 404 an
    unknown id gets, saying why. Path ids are the only integers in our paths.
    """

    def to_python(self, value: str) -> int:
        shown = value if len(value) <= SHOWN_VALUE else value[:SHOWN_VALUE] + "..."
        # The digits were matched by \d+, which takes other scripts' digits too ("٣").
        if not value.isascii() or len(value) > len(str(MAX_ID)) or not 1 <= int(value) <= MAX_ID:
            raise NotFound(f"{shown} is not an id: ids are whole numbers from 1 to {MAX_ID}.")
        return int(value)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: a rule picks its converter when it is added."""
    app.url_map.converters["int"] = IdConverter
