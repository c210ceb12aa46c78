"""The HTTP API (JSON under /api/v1) and its bearer tokens.

Authenticated by tokens, not sessions: exempt from the dashboard's CSRF check and login
redirect, and every error is JSON.
"""

from __future__ import annotations

from flask import Flask

from ..app.extensions import csrf
from . import ratelimit
from .views import bp

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
    ratelimit.init_app(app)
