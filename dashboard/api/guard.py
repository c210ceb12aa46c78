"""Bearer tokens at the API's door: who is asking (401 otherwise), and may they (403)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from ..app.extensions import db
from ..app.http_errors import problem
from ..queries.filters import JobFilter
from ..queue.database.write_lock import writing
from ..queue.jobs.settings import clock
from . import ratelimit, tokens
from .models import PERMISSIONS

#: Endpoints open without a token: the API's description.
OPEN_ENDPOINTS = {"api.openapi"}

WHAT = {"read": "read jobs", "enqueue": "enqueue jobs", "act": "act on jobs",
        "delete": "delete jobs"}


def _unauthorized(message: str, *, invalid: bool = False) -> Response:
    challenge = 'Bearer realm="api"' + (', error="invalid_token"' if invalid else "")
    return problem(401, message, headers={"WWW-Authenticate": challenge})


def authenticate() -> Response | None:
    """before_request of the API: the body limit, then the token (``g.api_token``)."""
    request.max_content_length = current_app.config["API_MAX_BODY"]
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return _unauthorized("an API token is needed: send Authorization: Bearer <token>")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _unauthorized("send the token as Authorization: Bearer <token>")
    # Checked before the token, so a client past the limit learns nothing from its guesses.
    wait = ratelimit.token_failures_wait()
    if wait is not None:
        return problem(429, "too many failed token checks from this address; wait and retry",
                       headers={"Retry-After": str(wait)})
    token = tokens.authenticate(db.session(), secret.strip())
    if token is None:
        ratelimit.count_token_failure()
        return _unauthorized("the token is unknown or revoked", invalid=True)
    now = clock()
    if tokens.use_is_due(token, now):
        # The request owns its transactions: this write is one of its own, committed now
        # (on SQLite with the write lock taken up front), before the view's.
        with writing(db.session()):
            tokens.mark_used(db.session(), token.id, now)
    g.api_token = token
    return None


def current_token() -> tokens.Caller:
    return g.api_token


def out_of_scope(source_id: str, field: str) -> Response | None:
    """403 naming ``field`` when the token is limited to other sources, else None."""
    token = current_token()
    if token.allows_source(source_id):
        return None
    return problem(403, f"{field}: this token is limited to source_id "
                        f"{', '.join(map(repr, token.sources or ()))}; got {source_id!r}",
                   field=field)


def scoped(found: JobFilter) -> JobFilter:
    """The filter limited to the token's sources (unchanged for a token of every source)."""
    sources = current_token().sources
    return found if sources is None else replace(found, sources=sources)


def needs(permission: str) -> Callable:
    """Refuse (403) a token whose role does not allow ``permission``."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = current_token()
            if not token.may(permission):
                roles = [r.value for r, p in PERMISSIONS.items() if permission in p]
                allowed = " or ".join([", ".join(roles[:-1]), roles[-1]] if len(roles) > 2
                                      else roles)
                return problem(403, f"this token's role ({token.role}) can't {WHAT[permission]}; "
                                    f"it needs a token of role {allowed}")
            return view(*args, **kwargs)
        return wrapped
    return decorator
