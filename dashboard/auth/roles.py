"""Who may do what: every page needs a login; actions need a role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, redirect, request, url_for
from flask_login import current_user

from .models import Role

#: Endpoints open without a login.
PUBLIC_ENDPOINTS = {"auth.login", "health.healthz", "metrics.metrics", "static"}
#: Blueprints that check their own credentials (the HTTP API's bearer tokens): a missing
#: one gets their 401, not a redirect to the login page.
OWN_CREDENTIALS = {"api"}


def require_login() -> Any:
    """before_request: send a visitor without a session to the login page."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in OWN_CREDENTIALS:
        return None
    if current_user.is_authenticated:
        return None
    if request.routing_exception is not None:
        return None  # no such page or method: a 404 or 405 tells no secret (the code is open)
    return unauthorized()


def unauthorized() -> Any:
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        # An XHR would follow a redirect and swap the login form into a fragment.
        return "", 401, {"HX-Redirect": target}
    if request.method != "GET":
        abort(401)
    return redirect(target)


def require(role: Role) -> Callable:
    """Refuse (403) users whose role is below ``role``."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(role):
                abort(403, f"your role ({current_user.role}) can't do this; "
                           f"it needs {role.value} or above")
            return view(*args, **kwargs)
        return wrapped
    return decorator
