"""``asyncqueue ...`` and ``python -m dashboard ...``: the commands of
``flask --app dashboard ...`` (``db upgrade``, ``digest``, ``users``, ``tokens``...), with
the app built by ``create_app()``.

``digest`` takes a lean way: Flask's command line loads every installed
``flask.commands`` plugin before it loads the app (Flask-Limiter's ``limiter`` command,
and Rich with it), whatever the command; the digest loads only its own app (see
``create_app(digest_only=True)``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask.cli import FlaskGroup


def command_line() -> FlaskGroup:
    """The ``asyncqueue`` group: Flask's, bound to ``create_app``."""
    import click
    from flask.cli import FlaskGroup

    from . import __version__, create_app

    cli = FlaskGroup(
        name="asyncqueue", create_app=create_app, add_version_option=False,
        help="AsyncQueue Dashboard: the same commands as `flask --app dashboard ...`.")
    # The app is this one: no --app to choose another.
    cli.params = [param for param in cli.params if param.name != "app"]
    click.version_option(__version__, prog_name="asyncqueue")(cli)
    return cli


def digest(args: list[str], prog_name: str) -> None:
    """The digest with its app alone: no pages, API or plugins loaded."""
    from . import create_app
    from .app.config import ConfigError
    from .cli.queue import digest_command

    try:
        app = create_app(digest_only=True)
    except ConfigError as error:
        error.show()
        sys.exit(error.exit_code)
    with app.app_context():
        digest_command.main(args, prog_name=f"{prog_name} digest")


def main(args: list[str] | None = None, prog_name: str = "asyncqueue") -> None:
    """Run one command of the app's CLI; exits with its code."""
    args = sys.argv[1:] if args is None else args
    if args[:1] == ["digest"]:
        digest(args[1:], prog_name)
    command_line().main(args=args, prog_name=prog_name)


if __name__ == "__main__":
    main(sys.argv[1:], prog_name="python -m dashboard")
