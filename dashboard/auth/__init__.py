"""Users, roles and logins."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from ..extensions import db, login_manager
from . import admin, roles, views
from .cli import users_cli
from .models import Role, User

__all__ = ["Role", "User", "init_app"]


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(roles.unauthorized)
    app.before_request(roles.require_login)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.cli.add_command(users_cli)


def _load_user(login_id: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.login_id == login_id))
