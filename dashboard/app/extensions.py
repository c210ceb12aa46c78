"""Flask extensions, created once here and bound to the app in create_app().

``db`` is made with the module (the mail extension lives in ``app/mail.py``, with the
``[mail]`` extra's import); ``migrate``, ``login_manager`` and ``csrf`` are made
on first use, so that a digest process, which binds none of them, does not import
Flask-Migrate (and Alembic), Flask-Login or Flask-WTF.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy

from ..db import Base

if TYPE_CHECKING:
    from flask_login import LoginManager
    from flask_migrate import Migrate
    from flask_wtf.csrf import CSRFProtect

    migrate: Migrate
    login_manager: LoginManager
    csrf: CSRFProtect

db = SQLAlchemy(model_class=Base)


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
