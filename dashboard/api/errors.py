"""Every error under /api/v1 as JSON: ``{"error": word, "message": sentence}``, and for
bad input the field and the problem. Never an HTML page, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy.exc
from flask import Blueprint, Response
from limits.errors import StorageError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..app.http_errors import from_http_error, problem
from ..queries.filters import BadFilter
from .ratelimit import storage_down

log = logging.getLogger("dashboard.api")


class Invalid(Exception):
    """Input the API can't take: each problem names its field (``requests[1].type_code``)."""

    def __init__(self, problems: Iterable[tuple[str, str]], status: int = 422) -> None:
        self.problems = list(problems)
        self.status = status
        super().__init__("; ".join(f"{field}: {text}" for field, text in self.problems))


def _invalid(error: Invalid) -> Response:
    field = error.problems[0][0]
    return problem(error.status, str(error), field=field, problems=error.problems)


def _bad_filter(error: BadFilter) -> Response:
    return problem(400, f"bad filter: {error}", field=error.parameter)


def _database_down(
        error: sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError) -> Response:
    log.warning("api: the database did not answer", exc_info=error)
    return problem(503, "the database is unavailable; try again later",
                   headers={"Retry-After": "5"})


def _server_error(error: InternalServerError) -> Response:
    original = error.original_exception
    if isinstance(original, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return _database_down(original)
    log.error("api: unhandled error", exc_info=original)
    return problem(500, "something went wrong on the server; the log has the details")


def init_blueprint(bp: Blueprint) -> None:
    bp.register_error_handler(Invalid, _invalid)
    bp.register_error_handler(BadFilter, _bad_filter)
    bp.register_error_handler(StorageError, storage_down)
    bp.register_error_handler(InternalServerError, _server_error)
    bp.register_error_handler(HTTPException, from_http_error)
