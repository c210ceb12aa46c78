"""``python -m dashboard digest [OPTIONS]``: the digest, as ``flask --app dashboard digest``
takes it, without Flask's command line.

Flask's command line loads every installed ``flask.commands`` plugin before it loads the
app (Flask-Limiter's ``limiter`` command, and Rich with it), whatever the command; this
entry point loads only the digest's app (see ``create_app(digest_only=True)``).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "digest":
        sys.exit("usage: python -m dashboard digest [OPTIONS]  (every other command: "
                 "flask --app dashboard ...)")
    from . import create_app
    from .app.config import ConfigError
    from .cli.queue import digest_command

    try:
        app = create_app(digest_only=True)
    except ConfigError as error:
        error.show()
        sys.exit(error.exit_code)
    with app.app_context():
        digest_command.main(args[1:], prog_name="python -m dashboard digest")


if __name__ == "__main__":
    main()
