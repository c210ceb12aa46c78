"""HTTP errors that pages and the API both answer: which requests are the API's, and the
API's JSON error body (``{"error": word, "message": sentence}``), for errors raised before
or outside the API's own views (an unknown path under /api/, a bad id, a CSRF refusal)."""

from __future__ import annotations

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PREFIX = "/api/"

#: The ``error`` word of each status.
ERRORS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "refused", 413: "too-large",
    415: "unsupported-media-type", 422: "invalid", 429: "too-many-requests",
    500: "server-error", 503: "unavailable",
}


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
