"""``asyncqueue ...`` and ``python -m dashboard ...``: the commands of
``flask --app dashboard ...`` (``db upgrade``, ``digest``, ``users``, ``tokens``...), with
the app built by ``create_app()``."""

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


def main(args: list[str] | None = None) -> None:
    """Run one command of the app's CLI; exits with its code."""
    command_line().main(args=args, prog_name="asyncqueue")


if __name__ == "__main__":
    main(sys.argv[1:])
