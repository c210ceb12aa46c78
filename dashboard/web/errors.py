"""Error pages that say what went wrong, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..app.http_errors import from_http_error, is_api_request
from ..queries.filters import BadFilter

log = logging.getLogger("dashboard.web")

TITLES = {
    400: "Bad request", 401: "Login needed", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 429: "Too many requests",
    500: "Server error",
}


def error_page(status: int, message: str):
    title = TITLES.get(status, "Error")
    return render_template("errors/error.html", status=status, title=title,
                           message=message), status


def _http_error(error: HTTPException):
    if error.code and error.code < 400:
        return error
    if is_api_request():  # no API route matched (404, 405): the API's JSON, not a page
        return from_http_error(error)
    return error_page(error.code or 500, error.description or "")


def _bad_filter(error: BadFilter):
    return error_page(400, f"Bad filter: {error}")


def _csrf_error(error: CSRFError):
    return error_page(400, f"The form's security token is missing or expired ({error.description}"
                           "). Reload the page and try again.")


def _server_error(error: InternalServerError):
    log.error("unhandled error", exc_info=error.original_exception)
    return error_page(500, "Something went wrong on the server; the log has the details.")


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(BadFilter, _bad_filter)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
