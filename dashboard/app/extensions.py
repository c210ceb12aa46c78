"""Flask extensions, created once here and bound to the app in create_app().

``db`` and ``mail`` are made with the module; ``migrate``, ``login_manager`` and ``csrf``
on first use, so that a digest process, which binds none of them, does not import
Flask-Migrate (and Alembic), Flask-Login or Flask-WTF.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy

from ..db import Base
from .mail import Mail

if TYPE_CHECKING:
    from flask_login import LoginManager
    from flask_migrate import Migrate
    from flask_wtf.csrf import CSRFProtect

    migrate: Migrate
    login_manager: LoginManager
    csrf: CSRFProtect

db = SQLAlchemy(model_class=Base)
mail = Mail()


def _migrate() -> Any:
    from flask_migrate import Migrate

    return Migrate()


def _login_manager() -> Any:
    from flask_login import LoginManager

    return LoginManager()


def _csrf() -> Any:
    from flask_wtf.csrf import CSRFProtect

    return CSRFProtect()


_MADE_ON_FIRST_USE: dict[str, Callable[[], Any]] = {
    "migrate": _migrate, "login_manager": _login_manager, "csrf": _csrf}


def __getattr__(name: str) -> Any:
    """``migrate``, ``login_manager`` and ``csrf``: made once, then module attributes."""
    make = _MADE_ON_FIRST_USE.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    made = globals()[name] = make()
    return made
