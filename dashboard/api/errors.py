"""Every error under /api/v1 as JSON: ``{"error": word, "message": sentence}``, and for
bad input the field and the problem. Never an HTML page, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy.exc
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from ..queries.filters import BadFilter

log = logging.getLogger("dashboard.api")

PREFIX = "/api/"

#: The ``error`` word of each status.
ERRORS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "refused", 413: "too-large",
    415: "unsupported-media-type", 422: "invalid", 429: "too-many-requests",
    500: "server-error", 503: "unavailable",
}


class Invalid(Exception):
    """Input the API can't take: each problem names its field (``requests[1].type_code``)."""

    def __init__(self, problems: Iterable[tuple[str, str]], status: int = 422) -> None:
        self.problems = list(problems)
        self.status = status
        super().__init__("; ".join(f"{field}: {text}" for field, text in self.problems))


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def problem(status: int, message: str, *, field: str | None = None,
            problems: list[tuple[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, object] = {"error": ERRORS.get(status, "error"), "message": message}
    if field is not None:
        body["field"] = field
    if problems:
        body["problems"] = [{"field": f, "message": m} for f, m in problems]
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def from_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    message = error.description or ERRORS.get(status, "error")
    if status == 413:
        message = "the request body is too large for this API (API_MAX_BODY)"
    return problem(status, message, headers=headers)


def _invalid(error: Invalid) -> Response:
    field, text = error.problems[0]
    return problem(error.status, str(error), field=field, problems=error.problems)


def _bad_filter(error: BadFilter) -> Response:
    return problem(400, f"bad filter: {error}", field=error.parameter)


def _database_down(error: sqlalchemy.exc.OperationalError) -> Response:
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
    bp.register_error_handler(InternalServerError, _server_error)
    bp.register_error_handler(HTTPException, from_http_error)
