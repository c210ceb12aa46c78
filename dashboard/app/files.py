"""The files the dashboard makes itself are private to its user: the instance folder
(0700), its secret key and the SQLite database (0600); SQLite gives the database's WAL and
SHM files the database file's own mode."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def private_folder(path: str | Path) -> None:
    """Make the folder (and its parents) if missing; a folder made here is 0700."""
    folder = Path(path)
    if folder.is_dir():
        return  # an existing folder keeps the mode its owner gave it
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(PRIVATE_FOLDER)  # mkdir's mode is masked by the umask


def write_private(path: str | Path, text: str) -> bool:
    """Write ``text`` to a new file, 0600 from its first byte; False if the file existed.

    Written under a temporary name, then linked into place: a process that starts at the
    same moment never reads a half-written file.
    """
    target = Path(path)
    if target.exists():
        return False
    draft = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # open's mode is masked by the umask
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.link(draft, target)
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)
    return True


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file 0600 before SQLite does (it would use the umask's
    0644, readable by every local user, and give its WAL and SHM files the same)."""
    parsed = sa.make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" \
            or name.startswith("file:"):
        return
    if Path(name).parent.is_dir():  # else SQLite says the folder is missing, as before
        write_private(name, "")  # an empty file is an empty SQLite database
