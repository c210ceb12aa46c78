"""Checks that hold for every request's input, pages and API alike, before any view."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

from ..queries.filters import MAX_ID, SHOWN_VALUE
from .http_errors import is_api_request

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


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


def refuse_nul() -> None:
    """A NUL character in a query or form field: PostgreSQL refuses it in any text (a 500
    wherever a field reaches a query, e.g. a login name), and no field has a use for it."""
    if is_api_request():
        # Its parameters are all read by the filters' parsers, which name the field of a
        # NUL; its bodies are JSON, read under its own size limit (API_MAX_BODY).
        return
    forms = [request.form] if request.mimetype in FORMS else []
    for where in (request.args, *forms):
        for name, value in where.items(multi=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "\\x00")[:SHOWN_VALUE]
                raise BadRequest(f"{shown}: contains a NUL character, which no field takes.")


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: a rule picks its converter when it is added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
