"""A PostgreSQL server of the test's own (initdb in a temporary folder, a free port), for the
tests that restart or stop a database: never the shared server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.own_server import OwnServer

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def available() -> str | None:
    """Why the server can't be started here, or None."""
    if not (BIN / "initdb").exists():
        return f"no {BIN / 'initdb'}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


class OwnPostgres(OwnServer):
    """``initdb`` in ``folder``, for a server on a free port of 127.0.0.1 (trust auth)."""

    NAME = "PostgreSQL server"
    #: pg_ctl restart's modes: ``fast`` ends every session cleanly, ``immediate`` aborts
    #: the server, which recovers from its write-ahead log on the way up.
    MODES = ("fast", "immediate")

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.data = folder / "data"
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
            folder.chmod(0o755)
            for parent in folder.parents:  # the postgres user must reach its folder
                if parent == Path("/tmp") or parent == parent.parent:
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        self._run([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "--no-sync"])

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> None:
        subprocess.run(_as_postgres(args), check=True, capture_output=True, timeout=120)

    def _ctl(self, *args: str) -> None:
        self._run([str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                   "-l", str(self.log), *args])

    def _options(self) -> tuple[str, str]:
        return ("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
                " -c fsync=off")

    def start(self) -> None:
        self._ctl("start", *self._options())
        self.wait_until_answering()

    def restart(self, mode: str) -> None:
        """``pg_ctl restart -m fast`` (or ``immediate``): every connection is cut."""
        assert mode in self.MODES, mode
        self._ctl("restart", "-m", mode, *self._options())
        self.wait_until_answering()

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass  # not running
