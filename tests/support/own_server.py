"""A database server of the test's own, for the tests that restart, stop or kill one: a
temporary folder, a free port of 127.0.0.1, a process the test starts and stops. Never the
shared server the rest of the suite uses.

``own_postgres.py`` and ``own_mariadb.py`` say how each kind of server is made, started
and stopped; what they share is here: the port, the folder, the wait until the server
answers, and the fixture's skip (a failure under REQUIRE_ALL_DATABASES=1, as in CI).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.support import databases

#: How long a server may take to answer after it was started.
START_SECONDS = 60.0

S = TypeVar("S", bound="OwnServer")


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnServer(ABC):
    """A server whose files are all in ``folder``, listening on its own port.

    ``restart(mode)`` takes it down one of the ways ``MODES`` names and starts it again,
    returning once it answers."""

    #: What the server is called in messages.
    NAME = "server"
    #: The ways ``restart`` takes the server down.
    MODES: tuple[str, ...] = ()

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()

    @property
    @abstractmethod
    def url(self) -> str:
        """The URL the queue's tables are on."""

    @property
    def log(self) -> Path:
        """The server's own log file."""
        return self.folder / "server.log"

    @abstractmethod
    def start(self) -> None:
        """Start the server; return once it answers."""

    @abstractmethod
    def restart(self, mode: str) -> None:
        """Take the server down as ``mode`` says, start it again; return once it answers."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the server if it runs (the test is over): bounded in time."""

    def wait_until_answering(self, url: str | None = None,
                             running: Callable[[], bool] = lambda: True) -> None:
        """Connect until the server answers, for up to START_SECONDS; ``running`` false
        (the process died) fails at once, with the server's log."""
        engine = sa.create_engine(url or self.url, poolclass=NullPool,
                                  connect_args={"connect_timeout": 2})
        deadline = time.monotonic() + START_SECONDS
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.exec_driver_sql("SELECT 1")
                    return
                except sa.exc.DBAPIError as error:
                    problem = str(error.orig).splitlines()[0] if error.orig else str(error)
                if not running():
                    raise AssertionError(f"the {self.NAME} of the test's own exited: "
                                         f"{problem}\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"the {self.NAME} of the test's own did not answer "
                                         f"within {START_SECONDS:g}s: {problem}\n"
                                         f"{self.log_tail()}")
                time.sleep(0.05)
        finally:
            engine.dispose()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log})"
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def own_server(make: Callable[[Path], S], why_not: str | None) -> Iterator[S]:
    """The server ``make(folder)`` makes in a new temporary folder, started; stopped and
    its folder removed after.

    ``why_not`` (the server can't run here) skips the test, or fails it under
    REQUIRE_ALL_DATABASES=1, as an unreachable shared database does."""
    if why_not:
        message = f"no database server of the test's own: {why_not}"
        if databases.required():
            pytest.fail(f"{message} (REQUIRE_ALL_DATABASES=1)")
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="aq-own-server-"))
    server: S | None = None
    try:
        server = make(folder / "server")
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
