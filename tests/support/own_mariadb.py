"""A MariaDB server of the test's own (mariadb-install-db in a temporary folder, a free
port and a socket of its own), for the tests that restart or kill a database: never the
shared server on 3306."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.support.own_server import OwnServer

INSTALL_DB = Path("/usr/bin/mariadb-install-db")
SERVER = Path("/usr/sbin/mariadbd")
#: The database the queue's tables go in.
DATABASE = "queue"
#: How long a clean shutdown may take before the server is killed.
STOP_SECONDS = 60.0


def available() -> str | None:
    """Why the server can't be started here, or None."""
    for binary in (INSTALL_DB, SERVER):
        if not binary.exists():
            return f"no {binary}"
    return None


class OwnMariaDB(OwnServer):
    """``mariadb-install-db`` in ``folder``, for a server on a free port of 127.0.0.1 whose
    root has no password."""

    NAME = "MariaDB server"
    #: ``shutdown``: a clean shutdown (SIGTERM: the sessions are ended, InnoDB flushed)
    #: and a start. ``kill``: SIGKILL, then a start that recovers from InnoDB's redo log.
    MODES = ("shutdown", "kill")

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.data = folder / "data"
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run([
            str(INSTALL_DB), "--no-defaults", f"--datadir={self.data}", *self._user(),
            # root@localhost, @127.0.0.1 and @::1 with no password (not unix_socket only)
            "--auth-root-authentication-method=normal", "--skip-test-db",
            "--skip-name-resolve",
        ], check=True, capture_output=True, timeout=120)
        self._created = False

    @staticmethod
    def _user() -> list[str]:
        """mariadbd refuses to run as root unless told to."""
        return ["--user=root"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with (self.folder / "server.out").open("ab") as out:
            self.process = subprocess.Popen([
                str(SERVER), "--no-defaults", f"--datadir={self.data}", *self._user(),
                f"--port={self.port}", "--bind-address=127.0.0.1",
                f"--socket={self.folder / 'mariadb.sock'}",
                f"--pid-file={self.folder / 'mariadb.pid'}", f"--log-error={self.log}",
                "--skip-name-resolve", "--skip-log-bin",
                # A commit reaches the OS at once, the disk within a second: it outlives
                # a killed server (not a crashed host), as fsync=off does PostgreSQL's.
                "--innodb-flush-log-at-trx-commit=2",
                "--innodb-buffer-pool-size=64M", "--innodb-buffer-pool-dump-at-shutdown=0",
                "--innodb-buffer-pool-load-at-startup=0",
            ], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        if not self._created:
            self.wait_until_answering(self._admin_url, running=self._running)
            engine = sa.create_engine(self._admin_url, poolclass=NullPool)
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            engine.dispose()
            self._created = True
        self.wait_until_answering(running=self._running)

    @property
    def _admin_url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/"

    def _running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), waited for; killed if it takes too long."""
        if not self._running():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the MariaDB server of the test's own took over "
                                 f"{STOP_SECONDS:g}s to shut down\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL: the server ends at once, its sessions cut, nothing flushed."""
        if self._running():
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def restart(self, mode: str) -> None:
        assert mode in self.MODES, mode
        if mode == "kill":
            self.kill()
        else:
            self.stop()
        self.start()
