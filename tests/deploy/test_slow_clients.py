"""The shipped gunicorn configuration survives clients that send half a request."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.servers import Gunicorn

WORKERS = 2
READ_TIMEOUT = 3


@pytest.fixture
def server(app, db_url, tmp_path) -> Iterator[Gunicorn]:
    gunicorn = Gunicorn(db_url, tmp_path, WEB_CONCURRENCY=WORKERS,
                        REQUEST_READ_TIMEOUT=READ_TIMEOUT)
    yield gunicorn
    gunicorn.stop()


def half_sent(port: int, number: int) -> socket.socket:
    """A connection that sent part of a request and then nothing: half of them stop in
    the headers, half in the body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if number % 2:
        sock.sendall((head + "Content-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: 1000\r\n\r\nname=slow&pass").encode())
    else:
        sock.sendall((head + "X-Slow: ").encode())
    return sock


def healthz_seconds(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        assert response.status == 200
    return time.monotonic() - started


@pytest.mark.slow
def test_healthz_answers_while_clients_hold_requests_half_sent(server):
    held = [half_sent(server.port, n) for n in range(WORKERS * 4)]
    try:
        time.sleep(0.5)  # every worker has taken some of them
        # Several times: each may land on either worker.
        times = [healthz_seconds(server.url) for _ in range(10)]
        assert max(times) < 1, times
    finally:
        for sock in held:
            sock.close()


@pytest.mark.slow
def test_a_client_that_stops_sending_is_dropped_after_the_read_timeout(server):
    held = [half_sent(server.port, n) for n in range(2)]
    try:
        for sock in held:
            sock.settimeout(READ_TIMEOUT + 10)
            started = time.monotonic()
            answer = sock.recv(1000)  # empty (closed), or a 400 for the cut-off body
            assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer
            assert time.monotonic() - started < READ_TIMEOUT + 5
    finally:
        for sock in held:
            sock.close()
    assert "Traceback" not in server.errors
