"""Ports for the tests' own servers, and for servers that are not there."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now: taken from the system on 127.0.0.1, then let go.

    For a server a test starts (bind it at once), or as the address of a database that is
    down (connections to it are refused).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
