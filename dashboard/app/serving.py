"""gunicorn's worker for the dashboard: threads, and a read timeout for slow clients.

gunicorn.conf.py selects it (``worker_class``). With sync workers, a client that sends
half a request holds a whole worker until it is killed; two such clients froze the app.
This worker is gunicorn's gthread (a pool of threads per process, so one slow client holds
one thread), whose sockets also give up on a client that sends nothing for
``REQUEST_READ_TIMEOUT`` seconds (default 10) while a request is read: the connection is
closed as if the client had gone, and the thread is free again. (gunicorn itself has no
such timeout: a thread reading a half-sent request waits for ever.)
"""

from __future__ import annotations

import os
import socket
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

DEFAULT_READ_TIMEOUT = 10.0


def read_timeout() -> float:
    """REQUEST_READ_TIMEOUT in seconds; ValueError names the variable when it is wrong."""
    raw = os.environ.get("REQUEST_READ_TIMEOUT", "").strip() or str(DEFAULT_READ_TIMEOUT)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"REQUEST_READ_TIMEOUT must be a number of seconds above 0, got {raw!r}")
    return seconds


class ReadTimeoutSocket(socket.socket):
    """A client's socket on which a blocking read or write waits ``timeout`` at most.

    gunicorn switches the socket to blocking (no timeout) before it reads each request;
    here that means "with the timeout". A read that times out reads as the end of the
    connection, which gunicorn closes quietly.
    """

    timeout_seconds = DEFAULT_READ_TIMEOUT

    @classmethod
    def taking_over(cls, sock: socket.socket, timeout: float) -> ReadTimeoutSocket:
        blocking = sock.getblocking()
        taken = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        taken.timeout_seconds = timeout
        taken.setblocking(blocking)
        return taken

    def setblocking(self, flag: bool) -> None:
        self.settimeout(self.timeout_seconds if flag else 0.0)

    def recv(self, *args: Any) -> bytes:
        try:
            return super().recv(*args)
        except TimeoutError:
            return b""

    def recv_into(self, *args: Any) -> int:
        try:
            return super().recv_into(*args)
        except TimeoutError:
            return 0


class DashboardWorker(ThreadWorker):
    """gthread, with a read timeout on every client's socket (see the module's text)."""

    def init_process(self) -> None:
        self.read_timeout = read_timeout()
        super().init_process()

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, ReadTimeoutSocket) and not self.cfg.is_ssl:
            conn.sock = ReadTimeoutSocket.taking_over(conn.sock, self.read_timeout)
        return super().handle(conn)
