"""Users, roles and logins: who may use the dashboard (their pages are ``web.login`` and
``web.users``, their commands ``cli.users``)."""

from __future__ import annotations

from flask import Flask

from ..app.extensions import login_manager
from . import roles
from .models import Role, User
from .signin import load_user

__all__ = ["Role", "User", "init_app"]


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(roles.unauthorized)
    app.before_request(roles.require_login)

