"""A small HTTP server that stands for the external API a request type calls, for the
tests that run real digests: it writes down every call, by its own (real) clock, and
holds the calls asked to wait until the test lets them go (bounded)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: The longest a held call waits to be let go.
HOLD_LIMIT = 60.0


@dataclass
class Call:
    job: int
    request: int
    pid: int
    started: float
    finished: float | None = None
    #: Seconds the call was sent after its connector turn, at most (rate-limited types say
    #: so), and when (``time.time()``) it said so, just before sending.
    late: float = 0.0
    sent: float = 0.0


class CallServer:
    """``with CallServer() as server``: calls at ``server.url``; ``server.calls`` lists them."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                call = Call(int(query["job"]), int(query["request"]), int(query["pid"]),
                            time.time(), late=float(query.get("late", 0)),
                            sent=float(query.get("sent", 0)))
                with server._lock:
                    server.calls.append(call)
                if query.get("hold") == "1":
                    server.released.wait(HOLD_LIMIT)
                call.finished = time.time()
                body = json.dumps({"job": call.job}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/call"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def held(self) -> int:
        """Calls waiting now."""
        with self._lock:
            return sum(1 for call in self.calls if call.finished is None)

    def overlapping(self) -> list[tuple[Call, Call]]:
        """Pairs of calls for one request that were at the server at the same time."""
        with self._lock:
            calls = list(self.calls)
        pairs = []
        for i, first in enumerate(calls):
            for second in calls[i + 1:]:
                if first.request == second.request and second.started < (
                        first.finished or float("inf")):
                    pairs.append((first, second))
        return pairs
