"""The optional parts of an install (pyproject.toml's extras): a setting that needs one
that is not installed stops start-up with one line naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

#: The module each extra brings -> the extra's name.
EXTRAS = {"psycopg": "postgresql", "pymysql": "mariadb", "gunicorn": "server",
          "flask_mail": "mail", "prometheus_client": "metrics"}


class MissingExtra(ImportError):
    """An optional module is not installed; the message says which extra brings it."""

    def __init__(self, module: str, needed_for: str) -> None:
        extra = EXTRAS[module]
        super().__init__(f"{needed_for} needs {module}, which is not installed: "
                         f"pip install 'asyncqueue-dashboard[{extra}]'")
        self.extra = extra


def need(module: str, needed_for: str) -> ModuleType:
    """The module, or MissingExtra naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:  # installed, but something it needs is not
            raise
        raise MissingExtra(module, needed_for) from None
