"""Users, roles and logins."""

from __future__ import annotations

from flask import Flask

from ..extensions import login_manager
from . import admin, roles, views
from .cli import users_cli
from .models import Role, User
from .signin import load_user

__all__ = ["Role", "User", "init_app"]


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(roles.unauthorized)
    app.before_request(roles.require_login)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.cli.add_command(users_cli)

